import { getEnvironmentData, type Worker } from 'node:worker_threads';
import { decode, encode } from '../../lib/codec/codec';
import { SharedMemory } from '../../lib/shared/shared-memory';
import { ENV_KEY } from '../../lib/shared/shm-directory';
import { startTsWorker } from '../helpers/worker';

const FIXTURE = `${__dirname}/../fixtures/shared-memory-worker.ts`;

type Reply = { result?: unknown; error?: string };

function firstMessage<T>(worker: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

async function startServer(): Promise<{ worker: Worker; ask: (message: object) => Promise<Reply> }> {
  const worker = startTsWorker(FIXTURE, { mode: 'serve' });
  await firstMessage(worker);
  const ask = (message: object): Promise<Reply> => {
    const reply = firstMessage<Reply>(worker);
    worker.postMessage(message);
    return reply;
  };
  return { worker, ask };
}

function control(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(16));
}

function waitFor(words: Int32Array, slot: number): void {
  while (Atomics.load(words, slot) === 0) Atomics.wait(words, slot, 0, 50);
}

function release(words: Int32Array): void {
  Atomics.store(words, 1, 1);
  Atomics.notify(words, 1);
}

const opened: SharedMemory[] = [];
function create(options: { name?: string; size: number }): SharedMemory {
  const shm = new SharedMemory({ ...options, create: true });
  opened.push(shm);
  return shm;
}

afterEach(() => {
  for (const shm of opened.splice(0)) if (!shm.unlinked) shm.unlink();
});

describe('SharedMemory in one thread (CPython _TestSharedMemory basics)', () => {
  test('create with a name, write, attach by name, see the same bytes', () => {
    const name = `test01_tsmb_${process.pid}`;
    const shm = create({ name, size: 512 });
    expect(shm.name).toBe(name);
    expect(shm.size).toBe(512);
    expect(shm.buf).toBeInstanceOf(Uint8Array);
    expect(shm.buf.length).toBe(512);
    expect(shm.buf.buffer.byteLength).toBe(512);
    expect(shm.buf.every((byte) => byte === 0)).toBe(true);
    shm.buf.set([1, 2, 3, 4, 5], 0);

    const same = new SharedMemory({ name });
    expect(same.name).toBe(name);
    expect(same.size).toBe(512);
    expect([...same.buf.subarray(0, 5)]).toEqual([1, 2, 3, 4, 5]);
    same.buf[0] = 42;
    expect(shm.buf[0]).toBe(42);
    expect(new SharedMemory(name).buf[0]).toBe(42);
    // As in Python, size is ignored when attaching.
    expect(new SharedMemory({ name, size: 7 }).size).toBe(512);
  });

  test("a generated name looks like Python's and is unique", () => {
    const a = create({ size: 4 });
    const b = create({ size: 4 });
    expect(a.name).toMatch(/^psm_[0-9a-f]{8}$/);
    expect(b.name).not.toBe(a.name);
  });

  test('creating an existing name → ERR_SHM_EXISTS', () => {
    const shm = create({ size: 8 });
    expect(() => new SharedMemory({ name: shm.name, create: true, size: 8 })).toThrow(expect.objectContaining({ code: 'ERR_SHM_EXISTS' }));
  });

  test('attaching to an unknown name → ERR_SHM_NOT_FOUND', () => {
    expect(() => new SharedMemory({ name: 'test01_fn_nonexistent' })).toThrow(
      expect.objectContaining({ code: 'ERR_SHM_NOT_FOUND', name: 'SharedMemoryNotFoundError' }),
    );
  });

  test('unlink: attaching fails everywhere, open handles keep working, the name can be reused', () => {
    const shm = create({ size: 16 });
    const other = new SharedMemory(shm.name);
    shm.unlink();
    expect(shm.unlinked).toBe(true);
    expect(other.unlinked).toBe(true);
    expect(() => new SharedMemory(shm.name)).toThrow(expect.objectContaining({ code: 'ERR_SHM_NOT_FOUND' }));
    expect(() => other.unlink()).toThrow(expect.objectContaining({ code: 'ERR_SHM_NOT_FOUND' }));
    other.buf[3] = 9;
    expect(shm.buf[3]).toBe(9);
    const again = create({ name: shm.name, size: 4 });
    expect(again.buf[3]).toBe(0);
    expect(new SharedMemory(shm.name).size).toBe(4);
  });

  test('close: buf is unusable on that handle only; close twice is fine; unlink after close works', () => {
    const shm = create({ size: 8 });
    const other = new SharedMemory(shm.name);
    shm.close();
    shm.close();
    expect(shm.closed).toBe(true);
    expect(() => shm.buf).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
    expect(shm.size).toBe(8);
    other.buf[0] = 1;
    expect(() => encode(shm, 'args')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
    shm.unlink();
    expect(() => new SharedMemory(shm.name)).toThrow(expect.objectContaining({ code: 'ERR_SHM_NOT_FOUND' }));
  });

  test('bad arguments → ERR_INVALID_ARG with a clear message', () => {
    const bad = (options: unknown, message: RegExp): void => {
      expect(() => new SharedMemory(options as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
      expect(() => new SharedMemory(options as never)).toThrow(message);
    };
    bad({ create: true, size: 0 }, /Expected `size` to be an integer from 1 and up when creating, got `0`/);
    bad({ create: true, size: -1 }, /`size`.*`-1`/);
    bad({ create: true }, /`size`.*`0`/);
    bad({ name: 'x', size: -1 }, /`size`/);
    bad({ create: true, size: 1.5 }, /`size`/);
    bad({ create: 'yes', size: 8 }, /`create` to be a boolean/);
    bad({ name: '' }, /`name` to be a non-empty string/);
    bad({ name: 3 }, /`name`/);
    bad({}, /`name` to be a block name when attaching/);
    bad(null, /`options`/);
    bad(42, /`options`/);
    bad('', /`name`/);
  });

  test('using a typed array over the whole block', () => {
    const shm = create({ size: 8 * 4 });
    const floats = new Float64Array(shm.buf.buffer);
    floats[3] = 1.5;
    expect(new Float64Array(new SharedMemory(shm.name).buf.buffer)[3]).toBe(1.5);
  });
});

describe('SharedMemory across threads', () => {
  test('a worker started after the block was created attaches by name (environment snapshot)', async () => {
    const shm = create({ size: 4 });
    shm.buf[0] = 7;
    const { worker, ask } = await startServer();
    try {
      expect(await ask({ op: 'attach', name: shm.name })).toEqual({ result: 7 });
      await ask({ op: 'write', name: shm.name, index: 2, value: 99 });
      expect(shm.buf[2]).toBe(99);
    } finally {
      await worker.terminate();
    }
  });

  test('a worker whose event loop is frozen in Atomics.wait when the block is created attaches at once', async () => {
    for (let round = 0; round < 5; round++) {
      const words = control();
      const names = [`parked_${round}_a`, `parked_${round}_missing`];
      const worker = startTsWorker(FIXTURE, { mode: 'parked', control: words, names });
      try {
        const results = firstMessage<{ value?: number; error?: string }[]>(worker);
        waitFor(words, 0);
        const shm = create({ name: names[0]!, size: 4 });
        shm.buf[0] = 10 + round;
        release(words);
        expect(await results).toEqual([{ value: 10 + round }, { error: 'ERR_SHM_NOT_FOUND' }]);
        expect(shm.buf[1]).toBe(11 + round);
      } finally {
        await worker.terminate();
      }
    }
  });

  test('the race: a worker started before the block existed loads parapool only after it was created', async () => {
    for (let round = 0; round < 5; round++) {
      const words = control();
      const names = [`late_${round}`];
      const worker = startTsWorker(FIXTURE, { mode: 'late', control: words, names });
      try {
        const results = firstMessage<{ value?: number; error?: string }[]>(worker);
        waitFor(words, 0);
        const shm = create({ name: names[0]!, size: 4 });
        shm.buf[0] = 20 + round;
        release(words);
        // The worker asks this thread for the block: the event loop here must run, and does (await).
        expect(await results).toEqual([{ value: 20 + round }]);
        expect(shm.buf[1]).toBe(21 + round);
      } finally {
        await worker.terminate();
      }
    }
  });

  test("the race, unknown names: ERR_SHM_NOT_FOUND without the main thread's help", async () => {
    const words = control();
    const names = ['late_unknown_1', 'late_unknown_2', 'late_unknown_3'];
    const worker = startTsWorker(FIXTURE, { mode: 'late', control: words, names });
    try {
      const results = firstMessage<{ value?: number; error?: string }[]>(worker);
      waitFor(words, 0);
      create({ name: 'late_unknown_other', size: 4 }); // so the worker starts incomplete
      release(words);
      // Block this thread: if the worker needed it, it would time out instead.
      Atomics.wait(words, 2, 0, 30_000);
      expect(Atomics.load(words, 2)).toBe(1);
      expect(await results).toEqual(names.map(() => ({ error: 'ERR_SHM_NOT_FOUND' })));
    } finally {
      await worker.terminate();
    }
  });

  test('a block created in a worker is attachable by name in the main thread and in another worker', async () => {
    const a = await startServer();
    const b = await startServer();
    try {
      const { result: name } = await a.ask({ op: 'create', size: 16 });
      expect(name).toMatch(/^psm_/);
      const mine = new SharedMemory(name as string);
      opened.push(mine);
      expect(mine.size).toBe(16);
      await b.ask({ op: 'write', name, index: 5, value: 55 });
      expect(mine.buf[5]).toBe(55);
      expect(await a.ask({ op: 'attach', name, index: 5 })).toEqual({ result: 55 });
      expect(await b.ask({ op: 'create', name, size: 4 })).toEqual({ error: 'ERR_SHM_EXISTS' });
      // Unlinked in one worker: gone for the main thread and the other worker.
      expect(await b.ask({ op: 'unlink', name })).toEqual({});
      expect(() => new SharedMemory(name as string)).toThrow(expect.objectContaining({ code: 'ERR_SHM_NOT_FOUND' }));
      expect(await a.ask({ op: 'attach', name })).toEqual({ error: 'ERR_SHM_NOT_FOUND' });
      expect(await a.ask({ op: 'attach', name: 'never_created' })).toEqual({ error: 'ERR_SHM_NOT_FOUND' });
    } finally {
      await a.worker.terminate();
      await b.worker.terminate();
    }
  });

  test('the codec: a SharedMemory passed to a worker is the same block; one created in a worker comes back', async () => {
    const { worker, ask } = await startServer();
    try {
      const shm = create({ size: 8 });
      const encoded = encode({ nested: [shm] }, 'args');
      expect(encoded.shared).toBe(true);
      const reply = await ask({ op: 'decode-write', shm: (encoded.value as { nested: unknown[] }).nested[0], index: 4, value: 44 });
      expect(reply).toEqual({ result: shm.name });
      expect(shm.buf[4]).toBe(44);

      const back = await ask({ op: 'create-and-return', size: 32, value: 3 });
      const returned = decode(back.result) as SharedMemory;
      opened.push(returned);
      expect(returned).toBeInstanceOf(SharedMemory);
      expect(returned.size).toBe(32);
      expect(returned.buf.every((byte) => byte === 3)).toBe(true);
      expect(new SharedMemory(returned.name).buf[0]).toBe(3);
    } finally {
      await worker.terminate();
    }
  });

  test('two workers creating one name at once: exactly one wins, every time', async () => {
    for (let round = 0; round < 10; round++) {
      const words = control();
      const name = `race_create_${round}`;
      const workers = [0, 1].map(() => startTsWorker(FIXTURE, { mode: 'race-create', control: words, name }));
      try {
        const results = workers.map((worker) => firstMessage<boolean>(worker));
        while (Atomics.load(words, 0) < 2) Atomics.wait(words, 0, Atomics.load(words, 0), 50);
        release(words);
        const created = await Promise.all(results);
        expect(created.filter(Boolean)).toHaveLength(1);
        const shm = new SharedMemory(name);
        expect(shm.size).toBe(8);
        shm.unlink();
      } finally {
        await Promise.all(workers.map((worker) => worker.terminate()));
      }
    }
  });

  test('a directory mutex left locked by a terminated thread is taken over, not a hang', () => {
    const words = new Int32Array((getEnvironmentData(ENV_KEY) as { directory: SharedArrayBuffer }).directory);
    // What a worker terminated inside create() leaves behind: the mutex held, nobody to release it.
    expect(Atomics.compareExchange(words, 0, 0, 1)).toBe(0);
    const shm = create({ size: 4 });
    expect(new SharedMemory(shm.name).size).toBe(4);
    expect(Atomics.load(words, 0)).toBe(0);
  });
});
