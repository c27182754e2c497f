/**
 * The Manager over TCP, for real: a server (`parapool manager`) in a child
 * process on 127.0.0.1 port 0, clients in other child processes and in this one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { classRef, type ManagedDict, type ManagedList, Manager, Pool, Queue, type RemoteCondition, tasks } from '../../lib/index';
import { proxyState } from '../../lib/manager/client';
import { DirectLink } from '../../lib/manager/direct';
import { WIRE_VERSION } from '../../lib/manager/protocol';
import { clientTlsOptions } from '../../lib/manager/tls-psk';
import type * as taskMod from '../fixtures/manager-tasks';
import type { Counter as CounterClass } from '../fixtures/manager-types';

const ROOT = path.join(__dirname, '..', '..');
const TYPES = path.join(ROOT, 'spec', 'fixtures', 'manager-types.ts');
const CLIENT = path.join(ROOT, 'spec', 'fixtures', 'manager-client.ts');
const CLI = path.join(ROOT, 'lib', 'cli', 'main.ts');
const Counter = classRef<typeof CounterClass>(TYPES, 'Counter');
const MyManager = Manager.register({ Counter });
const work = tasks<typeof taskMod>(path.join(ROOT, 'spec', 'fixtures', 'manager-tasks.ts'));

const children = new Set<ChildProcess>();
let keyFile: string;
const KEY = crypto.randomBytes(32);

// Child processes load the sources through the threads' TypeScript hook: half the start-up of tsx's.
const DEV_HOOK = path.join(ROOT, 'lib', 'entry', 'dev-hook.cjs');

function start(args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--require', DEV_HOOK, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Resolves with the first stdout line matching `pattern`; rejects if the child exits first or `ms` pass. */
function lineOf(child: ChildProcess, pattern: RegExp, ms = 60_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in time; stdout: ${out} stderr: ${err}`)), ms);
    child.stderr!.on('data', (chunk) => {
      err += chunk;
    });
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      const match = pattern.exec(out);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before ${pattern}; stdout: ${out} stderr: ${err}`));
    });
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

async function startServer(): Promise<{ child: ChildProcess; port: number }> {
  const child = start([CLI, 'manager', '--listen', '127.0.0.1:0', '--register', TYPES, '--authkey-file', keyFile]);
  const match = await lineOf(child, /^parapool manager listening on 127\.0\.0\.1:(\d+)\n/m);
  return { child, port: Number(match[1]) };
}

beforeAll(() => {
  keyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'parapool-manager-')), 'key');
  fs.writeFileSync(keyFile, KEY);
});
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

describe('Manager over TCP', () => {
  let shared: { child: ChildProcess; port: number };
  let victim: { child: ChildProcess; port: number };
  let counting: ChildProcess[];
  let holder: ChildProcess;
  // Every child process starts (and loads) here, in parallel: the tests then only talk to them.
  beforeAll(async () => {
    [shared, victim] = await Promise.all([startServer(), startServer()]);
    counting = [0, 1].map(() => start([CLIENT, String(shared.port), keyFile, 'count', '100']));
    holder = start([CLIENT, String(shared.port), keyFile, 'lock']);
    await Promise.all([...counting.map((child) => lineOf(child, /ready/)), lineOf(holder, /locked/)]);
  }, 90_000);

  test('a server on port 0 in a child process, clients in two other processes: exact totals', async () => {
    const { port } = shared;
    const [a, b] = counting as [ChildProcess, ChildProcess];
    const done = Promise.all([lineOf(a, /done/), lineOf(b, /done/)]);
    a.stdin!.end('go\n');
    b.stdin!.end('go\n');
    await done;
    expect(await Promise.all([exited(a), exited(b)])).toEqual([0, 0]);
    const m = await MyManager.connect({ address: { host: '127.0.0.1', port }, authkey: KEY });
    try {
      const c = await m.Counter(0, { name: 'total' });
      expect(await c.get()).toBe(200);
      expect(c.sync.get()).toBe(200);
    } finally {
      await m.shutdown();
    }
  }, 20_000);

  test('every proxy type works over the connection; hosted locks and queues', async () => {
    const { port } = shared;
    const m = await MyManager.connect({ address: { host: '127.0.0.1', port }, authkey: KEY });
    try {
      const d = await m.dict<string, unknown>([['a', 1]]);
      expect(await d.pop('zz', 3)).toBe(3);
      await expect(d.pop('zz')).rejects.toMatchObject({ code: 'ERR_KEY_NOT_FOUND' });
      const l = await m.list<number>([1, 2, 3]);
      await expect(l.get(5)).rejects.toBeInstanceOf(RangeError);
      await d.set('l', l);
      const back = (await d.get('l')) as typeof l;
      await back.append(4);
      expect(await l.copy()).toEqual([1, 2, 3, 4]);
      expect(await d.copy()).toEqual(
        new Map<string, unknown>([
          ['a', 1],
          ['l', back],
        ]),
      );
      const big = await m.dict<string, bigint>([['n', 2n ** 70n]]);
      expect(await big.get('n')).toBe(2n ** 70n);
      const s = await m.set<string>(['x']);
      expect(s.sync.has('x')).toBe(true);
      const ns = await m.Namespace({ x: 1 });
      expect(await ns.get('x')).toBe(1);
      const lock = (await m.Lock()) as unknown as {
        acquire(o?: object): Promise<boolean>;
        release(): Promise<void>;
        locked(): Promise<boolean>;
      };
      expect(await lock.acquire()).toBe(true);
      expect(await lock.acquire({ timeout: 10 })).toBe(false);
      await lock.release();
      await expect(lock.release()).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
      const q = (await m.Queue({ maxsize: 1 })) as unknown as {
        put(v: unknown, o?: object): Promise<void>;
        get(o?: object): Promise<unknown>;
      };
      await q.put({ a: 1 });
      await expect(q.put(2, { blocking: false })).rejects.toMatchObject({ code: 'ERR_QUEUE_FULL' });
      expect(await q.get()).toEqual({ a: 1 });
      await expect(q.get({ timeout: 0 })).rejects.toMatchObject({ code: 'ERR_QUEUE_EMPTY' });
      const v = (await m.Value('i', 1)) as unknown as { add(n: number): Promise<number>; get(): Promise<number> };
      expect(await v.add(2)).toBe(1);
      expect(await v.get()).toBe(3);
      const c = await m.Counter(1);
      expect(await c.increment()).toBe(2);
      expect((c as unknown as Record<string, unknown>)._hidden).toBeUndefined();
    } finally {
      await m.shutdown();
    }
  }, 20_000);

  test("a connected manager's proxies cross to pool workers: sync calls there, exact totals", async () => {
    const m = await MyManager.connect({ address: { host: '127.0.0.1', port: shared.port }, authkey: KEY });
    const pool = new Pool({ workers: 2 });
    try {
      const c = await m.Counter(0);
      expect(
        await pool.starmap(
          work.bumpSync,
          [
            [c, 50],
            [c, 50],
          ],
          { chunksize: 1 },
        ),
      ).toEqual([50, 50]);
      expect(await c.get()).toBe(100);
      // Through a queue, into workers that have no link to this manager yet.
      const fresh = new Pool({ workers: 2 });
      try {
        const d = await m.dict<string, number>();
        const q = new Queue<ManagedDict<string, number>>();
        await q.put(d);
        await q.put(d);
        await fresh.starmap(
          work.fromQueue,
          [
            [q, 50],
            [q, 50],
          ],
          { chunksize: 1 },
        );
        expect(await d.size()).toBe(51);
      } finally {
        await fresh.terminate();
      }
    } finally {
      await pool.terminate();
      await m.shutdown();
    }
  }, 20_000);

  test("the main thread's async calls take its own connection, in one session with the relay's: one owner, proxies cross both ways", async () => {
    const address = { host: '127.0.0.1', port: shared.port };
    const m = await MyManager.connect({ address, authkey: KEY });
    const pool = new Pool({ workers: 2 });
    try {
      const d = await m.dict<string, unknown>();
      expect(proxyState(d).link).toBeInstanceOf(DirectLink);
      // Both connections of a client are one link of the server.
      const links = (await m.stats()).links;
      const other = await MyManager.connect({ address, authkey: KEY });
      expect((await m.stats()).links).toBe(links + 1);
      await other.shutdown();
      await eventually(async () => (await m.stats()).links === links);
      // A lock taken by an async call (this connection) is released by a sync one (the relay's): one owner.
      const lock = await m.Lock();
      for (let round = 0; round < 5; round++) {
        expect(await lock.acquire()).toBe(true);
        expect(lock.sync.locked()).toBe(true);
        lock.sync.release();
        expect(await lock.locked()).toBe(false);
      }
      // Made here, used by workers (pins made on the server, claimed by the relay), exact totals.
      const c = await m.Counter(0);
      for (let round = 1; round <= 3; round++) {
        const counts = await pool.starmap(
          work.bumpSync,
          [
            [c, 40],
            [c, 40],
          ],
          { chunksize: 1 },
        );
        expect(counts).toEqual([40, 40]);
        expect(await c.get()).toBe(80 * round);
      }
      // Made by a worker (the relay's link here), then an argument of a call on this connection.
      const made = (await pool.apply(work.makeList, [m as never, [1, 2]])) as ManagedList<number>;
      expect(proxyState(made).link).not.toBeInstanceOf(DirectLink);
      await d.set('l', made);
      const back = (await d.get('l')) as ManagedList<number>;
      expect(proxyState(back).link).toBeInstanceOf(DirectLink);
      await back.append(3);
      expect(await made.copy()).toEqual([1, 2, 3]);
      expect(made.sync.length()).toBe(3);
      // What the wire does not carry as it is: ERR_UNCLONEABLE as for a thread, or a structured-clone copy.
      await expect(d.set('f', (() => 1) as never)).rejects.toMatchObject({ code: 'ERR_UNCLONEABLE' });
      class Point {
        constructor(readonly x: number) {}
      }
      await d.set('p', new Point(2));
      expect(await d.get('p')).toEqual({ x: 2 });
      // Sync calls in this thread go through the relay and see what the answered async calls did.
      for (let i = 0; i < 20; i++) {
        await d.set('n', i);
        expect(d.sync.get('n')).toBe(i);
        d.sync.set('n', -i);
        expect(await d.get('n')).toBe(-i);
      }
      // Through a queue into workers with no link yet: the item carries the server's pin.
      const fresh = new Pool({ workers: 2 });
      try {
        const q = new Queue<ManagedDict<string, number>>();
        await q.put(d as never);
        await q.put(d as never);
        await fresh.starmap(
          work.fromQueue,
          [
            [q, 10],
            [q, 10],
          ],
          { chunksize: 1 },
        );
        expect(await d.get('q9')).toBe(9);
      } finally {
        await fresh.terminate();
      }
    } finally {
      await pool.terminate();
      await m.shutdown();
    }
  }, 20_000);

  test("the connecting thread's calls are applied in the order it made them, over its connection or the relay's (API §9)", async () => {
    const m = await MyManager.connect({ address: { host: '127.0.0.1', port: shared.port }, authkey: KEY });
    try {
      const d = await m.dict<number | string, unknown>();
      const l = await m.list<number>();
      const e = await m.dict<string, unknown>();
      const c = await m.Counter(0);
      const lock = await m.Lock();
      class Point {
        constructor(readonly x: number) {}
      }
      // Left unawaited by a failing expect, they reject when the manager shuts down: not an unhandled rejection.
      const later = <T>(promise: Promise<T>): Promise<T> => {
        promise.catch(() => {});
        return promise;
      };
      let total = 0;
      for (let round = 0; round < 20; round++) {
        // Unawaited async calls (this thread's connection), then a sync read (the relay's): it sees them all.
        const calls: Promise<unknown>[] = [];
        for (let i = 0; i < 200; i++) calls.push(later(d.set(i, round * 1000 + i)), later(l.append(i)));
        calls.push(later(d.set('k', round)));
        expect(d.sync.get('k')).toBe(round);
        expect(d.sync.size()).toBe(201);
        expect(d.sync.get(199)).toBe(round * 1000 + 199);
        expect(l.sync.copy()).toEqual(Array.from({ length: 200 }, (_, i) => i));
        l.sync.clear();
        await Promise.all(calls);
        // Some of them already applied (and answered or not) when the sync call hands them over: each counts once.
        const bumps: Promise<number>[] = [];
        for (let i = 0; i < 100; i++) bumps.push(later(c.increment()));
        await bumps[round * 5];
        total += 100;
        expect(c.sync.get()).toBe(total);
        expect((await Promise.all(bumps)).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => total - 99 + i));
        // A lock taken by an async call still in flight, released by a sync call: in that order.
        const taken = later(lock.acquire());
        expect(lock.sync.locked()).toBe(true);
        lock.sync.release();
        expect(await taken).toBe(true);
        expect(await lock.locked()).toBe(false);
        // What the wire cannot carry as it is goes through the relay: after the calls before it, before the calls after it.
        const first = later(e.set('p', round));
        const second = later(e.set('p', new Point(round) as never));
        const read = later(e.get('p'));
        await Promise.all([first, second]);
        expect(await read).toEqual({ x: round });
      }
      // Applied long before they are answered: the sync call hands them over again, and they are not applied twice.
      for (let round = 1; round <= 5; round++) {
        const held = [later(c.incrementHeld()), later(c.incrementHeld()), later(c.incrementHeld())];
        total += 3;
        expect(await c.get()).toBe(total); // after them on this connection: they were applied
        expect(c.sync.get()).toBe(total);
        c.sync.open();
        expect(await Promise.all(held)).toEqual([total, total, total]);
      }
      expect(await c.get()).toBe(total);
    } finally {
      await m.shutdown();
    }
  }, 20_000);

  test("a client's session releases what both its connections held when it shuts down", async () => {
    // A server of its own (in this process), so that no other client's objects come and go meanwhile.
    const server = await MyManager.start({ address: { host: '127.0.0.1', port: 0 }, authkey: KEY });
    const address = server.address!;
    const pool = new Pool({ workers: 1 });
    try {
      for (let round = 0; round < 3; round++) {
        const m = await MyManager.connect({ address, authkey: KEY });
        const lists: ManagedList<number>[] = [];
        for (let i = 0; i < 20; i++) lists.push(await m.list<number>([i]));
        // Half of them also held by the relay, for a worker (server-made pins, claimed there).
        expect(await pool.map(work.listSize, lists.slice(0, 10))).toEqual(Array(10).fill(1));
        const lock = await m.Lock({ name: 'session-lock' });
        expect(await lock.acquire()).toBe(true);
        expect((await server.stats()).objects).toBe(21);
        await m.shutdown();
        await expect(lists[0]!.get(0)).rejects.toMatchObject({ code: 'ERR_MANAGER_GONE' });
        await eventually(async () => (await server.stats()).objects === 1); // the named lock stays, released
        // Named by a TCP client, it is the manager-hosted lock (a proxy here too).
        const same = (await server.Lock({ name: 'session-lock' })) as unknown as {
          acquire(o?: object): Promise<boolean>;
          release(): Promise<void>;
        };
        expect(await same.acquire({ timeout: 10_000 })).toBe(true);
        await same.release();
      }
    } finally {
      await pool.terminate();
      await server.shutdown();
    }
  }, 20_000);

  test("a proxy's reference is exact whichever of a session's connections its pin and its claim take", async () => {
    // A server of its own (in this process): the object count is this client's alone.
    const server = await MyManager.start({ address: { host: '127.0.0.1', port: 0 }, authkey: KEY });
    const m = await MyManager.connect({ address: server.address!, authkey: KEY });
    const pool = new Pool({ workers: 1 });
    try {
      const d = await m.dict<string, number>();
      const l = await m.list<unknown>();
      for (let round = 0; round < 5; round++) {
        const target = await m.dict<string, number>([['round', round]]); // held by this thread only
        const objects = (await m.stats()).objects;
        const flags = new Int32Array(new SharedArrayBuffer(8));
        const reader = pool.apply(work.objectsWhenTold, [m, flags]);
        await eventually(async () => Atomics.load(flags, 0) === 1);
        // A write still in flight on this thread's connection keeps the next one (the pin the sync call
        // below makes for `target`) in this thread's socket until its event loop runs again; meanwhile
        // the relay claims that pin on the server, makes the call and drops what it claimed.
        const inFlight = d.get('x');
        expect(l.sync.count(target)).toBe(0);
        // Still blocked: the worker counts the objects through the relay's connection, after all that.
        Atomics.store(flags, 0, 2);
        Atomics.notify(flags, 0);
        Atomics.wait(flags, 0, 2, 15_000);
        expect(Atomics.load(flags, 0)).toBe(3);
        expect(Atomics.load(flags, 1)).toBe(objects); // `target` never lost the reference this thread holds
        expect(await reader).toBe(objects);
        await inFlight;
        expect(await target.get('round')).toBe(round);
        expect((await server.stats()).objects).toBe(objects);
      }
    } finally {
      await pool.terminate();
      await m.shutdown();
      await server.shutdown();
    }
  }, 20_000);

  test("shutdown() in any thread, or the main thread's own connection closing, fails every pending call, on both connections and in workers, async and sync, with ERR_MANAGER_GONE", async () => {
    const pool = new Pool({ workers: 3 });
    const gone = { code: 'ERR_MANAGER_GONE' };
    class Point {
      constructor(readonly x: number) {}
    }
    try {
      for (let round = 0; round < 3; round++) {
        const m = await MyManager.connect({ address: { host: '127.0.0.1', port: shared.port }, authkey: KEY });
        try {
          const c = await m.Counter(0);
          const inSync = await m.Counter(0);
          const inAsync = await m.Counter(0);
          // In workers: a blocked sync call and an async one (both through the relay).
          const syncTask = pool.apply(work.waitSync, [inSync]);
          const asyncTask = pool.apply(work.waitAsync, [inAsync]);
          syncTask.catch(() => {});
          asyncTask.catch(() => {});
          await eventually(async () => (await inSync.get()) === -1 && (await inAsync.get()) === -1);
          // This thread: on its own connection; handed to the relay by a sync call; through the relay
          // (an argument the wire cannot carry), with a call after it that follows it there.
          const direct = [c.later(1, 60_000), c.incrementHeld()];
          const handed = c.later(2, 60_000);
          expect(c.sync.get()).toBe(1);
          const relayed = [c.later(new Point(round) as never, 60_000), c.later(3, 60_000)];
          const calls = [...direct, handed, ...relayed];
          for (const call of calls) call.catch(() => {});
          // Each way in turn: shutdown() here, shutdown() in a worker, the connection breaking.
          if (round === 0) await m.shutdown();
          else if (round === 1) await pool.apply(work.shutdownManager, [m]);
          else {
            // The connection breaks (as when the network drops it): this thread's TLS socket is the only
            // one it has (the relay's is in the relay thread, the server's in another process).
            const sockets = (process as unknown as { _getActiveHandles(): unknown[] })
              ._getActiveHandles()
              .filter((handle): handle is tls.TLSSocket => handle instanceof tls.TLSSocket);
            expect(sockets).toHaveLength(1);
            sockets[0]!.destroy();
          }
          for (const call of calls) await expect(call).rejects.toMatchObject(gone);
          await expect(syncTask).rejects.toMatchObject(gone);
          await expect(asyncTask).rejects.toMatchObject(gone);
          await expect(c.get()).rejects.toMatchObject(gone);
          expect(() => c.sync.get()).toThrow(expect.objectContaining(gone));
        } finally {
          await m.shutdown();
        }
      }
    } finally {
      await pool.terminate();
    }
  }, 20_000);

  test('Condition.waitFor over TCP: the predicate first, the timeout across wake-ups, sync in a worker under contention', async () => {
    const address = { host: '127.0.0.1', port: shared.port };
    const [a, b] = await Promise.all([MyManager.connect({ address, authkey: KEY }), MyManager.connect({ address, authkey: KEY })]);
    const pool = new Pool({ workers: 2 });
    try {
      const ca: RemoteCondition = await a.Condition(undefined, { name: 'wf' });
      const cb: RemoteCondition = await b.Condition(undefined, { name: 'wf' });
      const va = await a.Value('i', 0, { name: 'wf-v' });
      const vb = await b.Value('i', 0, { name: 'wf-v' });
      expect(await ca.waitFor(() => 'at once')).toBe('at once'); // nothing waits: the lock need not be held
      await expect(ca.waitFor(() => false)).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
      await expect(ca.waitFor('no' as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
      expect(await ca.acquire()).toBe(true);
      expect(await ca.waitFor(() => 0, { timeout: 0 })).toBe(0);
      expect(await ca.waitFor(() => 0, { timeout: -5 })).toBe(0);
      let calls = 0;
      const started = performance.now();
      expect(await ca.waitFor(() => ++calls > 1000, { timeout: 60 })).toBe(false);
      expect(performance.now() - started).toBeGreaterThanOrEqual(55);
      expect(calls).toBeGreaterThanOrEqual(2);
      expect(ca.sync.waitFor(() => null, { timeout: 20 })).toBeNull();
      // An async predicate, woken by another connection.
      const waiting = ca.waitFor(async () => (await va.get()) === 7, { timeout: 15_000 });
      expect(await cb.acquire()).toBe(true); // a's wait released the lock
      await vb.set(7);
      await cb.notifyAll();
      await cb.release();
      expect(await waiting).toBe(true);
      await ca.release();
      for (let round = 0; round < 3; round++) {
        await va.set(0);
        const n = 30;
        // b's worker waits (sync waitFor); a's worker and a's main thread produce.
        const consumer = pool.apply(work.waitTotal, [cb as never, vb as never, 2 * n, 15_000]);
        const producer = pool.apply(work.produce, [ca as never, va as never, n]);
        for (let i = 0; i < n; i++) {
          await ca.acquire();
          await va.add(1);
          await ca.notifyAll();
          await ca.release();
        }
        expect(await producer).toBe(n);
        expect(await consumer).toEqual([true, 2 * n]);
        expect(await va.get()).toBe(2 * n);
      }
    } finally {
      await pool.terminate();
      await a.shutdown();
      await b.shutdown();
    }
  }, 20_000);

  test('Condition, Barrier, Array and Value are manager-hosted: two connections wait on and wake each other', async () => {
    const address = { host: '127.0.0.1', port: shared.port };
    const [a, b] = await Promise.all([MyManager.connect({ address, authkey: KEY }), MyManager.connect({ address, authkey: KEY })]);
    try {
      type Hosted = Record<string, (...args: unknown[]) => Promise<unknown>> & { sync: Record<string, (...args: unknown[]) => unknown> };
      const ca = (await a.Condition(undefined, { name: 'cond' })) as unknown as Hosted;
      const cb = (await b.Condition(undefined, { name: 'cond' })) as unknown as Hosted;
      await expect(cb.wait!()).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
      await expect(cb.notify!()).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
      expect(await ca.acquire!()).toBe(true);
      expect(await ca.acquire!()).toBe(true); // an RLock by default: recursive
      expect(await ca.wait!({ timeout: 10 })).toBe(false);
      expect(await cb.acquire!({ blocking: false })).toBe(false); // a still holds it after the timed-out wait
      for (let round = 0; round < 5; round++) {
        const waiting = ca.wait!();
        // b can take the lock only once a's wait released it (both levels).
        expect(await cb.acquire!()).toBe(true);
        await cb.notify!();
        await cb.release!();
        expect(await waiting).toBe(true);
        expect(await cb.acquire!({ blocking: false })).toBe(false); // a holds it again
      }
      await ca.release!();
      await ca.release!();
      const lock = (await a.Lock()) as unknown as Hosted;
      const onLock = (await a.Condition(lock as never)) as unknown as Hosted;
      expect(onLock.sync.acquire!()).toBe(true);
      expect(await lock.locked!()).toBe(true);
      onLock.sync.notifyAll!();
      onLock.sync.release!();
      expect(await lock.locked!()).toBe(false);

      const ba = (await a.Barrier(2, { name: 'bar' })) as unknown as Hosted;
      const bb = (await b.Barrier(2, { name: 'bar' })) as unknown as Hosted;
      for (let round = 0; round < 5; round++) {
        const indices = await Promise.all([ba.wait!(), bb.wait!()]);
        expect([...(indices as number[])].sort()).toEqual([0, 1]);
      }
      expect(await ba.parties!()).toBe(2);
      await expect(ba.wait!({ timeout: 10 })).rejects.toMatchObject({ code: 'ERR_BROKEN_BARRIER' });
      expect(await bb.broken!()).toBe(true);
      await expect(bb.wait!()).rejects.toMatchObject({ code: 'ERR_BROKEN_BARRIER' });
      await ba.reset!();
      expect(await ba.broken!()).toBe(false);
      const aborted = bb.wait!();
      await eventually(async () => (await ba.nWaiting!()) === 1);
      await ba.abort!();
      await expect(aborted).rejects.toMatchObject({ code: 'ERR_BROKEN_BARRIER' });
      await ba.reset!();

      const arr = (await a.Array('i', [1, 2, 3])) as unknown as Hosted;
      expect(await arr.length!()).toBe(3);
      expect(await arr.get!(-1)).toBe(3);
      await arr.set!(0, 2 ** 31);
      expect(arr.sync.get!(0)).toBe(-(2 ** 31));
      expect(await arr.add!(1, 5)).toBe(2);
      expect(await arr.slice!(1)).toEqual([7, 3]);
      await arr.setSlice!(0, 2, [9, 8]);
      expect(await arr.toArray!()).toEqual([9, 8, 3]);
      await expect(arr.get!(3)).rejects.toBeInstanceOf(RangeError);
      await expect(a.Array('zz' as never, 2)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
      const big = (await a.Array('q', 2)) as unknown as Hosted;
      await big.set!(1, 2n ** 63n);
      expect(await big.get!(1)).toBe(-(2n ** 63n));
      const v = (await a.Value('B', 250)) as unknown as Hosted;
      expect(await v.add!(10)).toBe(250);
      expect(await v.get!()).toBe(4);
    } finally {
      await a.shutdown();
      await b.shutdown();
    }
  }, 20_000);

  test('a connection that closes while waiting: its barrier breaks, a lock it waited for goes to the next waiter', async () => {
    const address = { host: '127.0.0.1', port: shared.port };
    const [a, b] = await Promise.all([MyManager.connect({ address, authkey: KEY }), MyManager.connect({ address, authkey: KEY })]);
    try {
      type Hosted = Record<string, (...args: unknown[]) => Promise<unknown>>;
      const lockA = (await a.Lock({ name: 'closing' })) as unknown as Hosted;
      const lockB = (await b.Lock({ name: 'closing' })) as unknown as Hosted;
      const barA = (await a.Barrier(2, { name: 'closing-barrier' })) as unknown as Hosted;
      const barB = (await b.Barrier(2, { name: 'closing-barrier' })) as unknown as Hosted;
      expect(await lockA.acquire!()).toBe(true);
      const bLock = lockB.acquire!().catch((error: { code?: string }) => error.code);
      const bBarrier = barB.wait!().catch((error: { code?: string }) => error.code);
      // Calls on one connection are applied in order: once this answers, b waits for both.
      await b.stats();
      expect(await barA.nWaiting!()).toBe(1);
      await b.shutdown();
      expect(await bLock).toBe('ERR_MANAGER_GONE');
      expect(await bBarrier).toBe('ERR_MANAGER_GONE');
      await eventually(async () => (await barA.broken!()) === true);
      await lockA.release!();
      expect(await lockA.acquire!({ timeout: 10_000 })).toBe(true);
      await lockA.release!();
    } finally {
      await a.shutdown();
      await b.shutdown();
    }
  }, 20_000);

  test('a wrong key: ERR_AUTH, and nothing was touched', async () => {
    const { port } = shared;
    const m = await MyManager.connect({ address: { host: '127.0.0.1', port }, authkey: KEY });
    try {
      const before = await m.stats();
      await expect(MyManager.connect({ address: { host: '127.0.0.1', port }, authkey: 'wrong' })).rejects.toMatchObject({
        code: 'ERR_AUTH',
      });
      expect(await m.stats()).toEqual(before);
    } finally {
      await m.shutdown();
    }
  }, 20_000);

  test('fuzz: random bytes, huge length prefixes, __proto__ frames close that connection; the others are served', async () => {
    const { port } = shared;
    const m = await MyManager.connect({ address: { host: '127.0.0.1', port }, authkey: KEY });
    try {
      const d = await m.dict<string, number>([['ok', 1]]);
      const hello = frameOf(`[{"t":1,"v":2},"hello",${WIRE_VERSION}]`);
      const payloads: Buffer[] = [
        Buffer.concat([hello, Buffer.from([0xff, 0xff, 0xff, 0xff])]),
        Buffer.concat([hello, frameOf('[{"__proto__":1,"t":2},5,"call"]')]),
        Buffer.concat([hello, frameOf('[{"t":1,"seq":2,"id":3,"m":4,"a":5},"call",0,0,"get",[6],{"__proto__":7},1]')]),
        Buffer.concat([hello, frameOf('not devalue at all')]),
        // Compact frames: garbage after the tag, a __proto__ key, a count past the end.
        Buffer.concat([hello, rawFrame(Buffer.from([0, 200, 1, 2, 3]))]),
        Buffer.concat([
          hello,
          rawFrame(Buffer.concat([Buffer.from([0, 9, 1, 0, 0, 0, 6, 9, 0, 0, 0]), Buffer.from('__proto__'), Buffer.from([3])])),
        ]),
        Buffer.concat([hello, rawFrame(Buffer.from([0, 8, 255, 255, 255, 255, 1]))]),
        frameOf('[{"t":1},"call"]'),
        // Copies of the main thread's calls: a count that is not one, or anything but a call among them.
        Buffer.concat([hello, frameOf('[{"t":1,"n":2},"dup",0]')]),
        Buffer.concat([hello, frameOf('[{"t":1,"n":2},"dup",2]'), frameOf('[{"t":1,"id":2},"decref",0]')]),
      ];
      for (let i = 0; i < 12; i++) payloads.push(crypto.randomBytes(1 + Math.floor(Math.random() * 200)));
      for (const payload of payloads) {
        await expectClosed(port, payload, true);
        expect(await d.get('ok')).toBe(1);
      }
      // Not even TLS: random bytes on the raw socket.
      await expectClosed(port, crypto.randomBytes(64), false);
      expect(d.sync.get('ok')).toBe(1);
    } finally {
      await m.shutdown();
    }
  }, 20_000);

  test('a client SIGKILLed while holding a manager lock: the next waiter gets it', async () => {
    const { port } = shared;
    const m = await MyManager.connect({ address: { host: '127.0.0.1', port }, authkey: KEY });
    try {
      const lock = (await m.Lock({ name: 'L' })) as unknown as { acquire(o?: object): Promise<boolean> };
      expect(await lock.acquire({ blocking: false })).toBe(false);
      const waiting = lock.acquire({ timeout: 10_000 });
      holder.kill('SIGKILL');
      expect(await waiting).toBe(true);
    } finally {
      await m.shutdown();
    }
  }, 20_000);

  test('`parapool manager` exits with code 1 and says why when its manager thread crashes', async () => {
    const server = await startServer();
    let stderr = '';
    server.child.stderr!.on('data', (chunk) => {
      stderr += chunk;
    });
    const code = exited(server.child);
    const m = await MyManager.connect({ address: { host: '127.0.0.1', port: server.port }, authkey: KEY });
    try {
      const c = await m.Counter(0);
      await c.crash();
      expect(await code).toBe(1);
      expect(stderr).toMatch(/parapool manager: the manager thread crashed \(exit code 1\): Error: manager thread crashed on purpose/);
      await expect(c.get()).rejects.toMatchObject({ code: 'ERR_MANAGER_GONE' });
    } finally {
      server.child.kill('SIGKILL');
      await m.shutdown();
    }
  }, 20_000);

  test('the server SIGKILLed: clients fail promptly with ERR_MANAGER_GONE', async () => {
    const { child, port } = victim;
    const m = await MyManager.connect({ address: { host: '127.0.0.1', port }, authkey: KEY });
    const c = await m.Counter(0);
    expect(proxyState(c).link).toBeInstanceOf(DirectLink); // this thread's own connection, not the relay's
    const pending = c.later(1, 60_000);
    await c.increment();
    const started = Date.now();
    child.kill('SIGKILL');
    await expect(pending).rejects.toMatchObject({ code: 'ERR_MANAGER_GONE' });
    expect(Date.now() - started).toBeLessThan(5000);
    await expect(c.get()).rejects.toMatchObject({ code: 'ERR_MANAGER_GONE' });
    expect(() => c.sync.get()).toThrow(expect.objectContaining({ code: 'ERR_MANAGER_GONE' }));
    await m.shutdown();
  }, 20_000);
});

/** Waits for `check` to hold, polling; fails after `ms`. */
async function eventually(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function frameOf(text: string): Buffer {
  return rawFrame(Buffer.from(text));
}

function rawFrame(body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

/** Sends `payload` (over TLS with the right key, or raw) and waits for the server to close the connection. */
function expectClosed(port: number, payload: Buffer, useTls: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server kept a bad connection open')), 15_000);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const socket = useTls
      ? tls.connect({ host: '127.0.0.1', port, ...clientTlsOptions(KEY) }, () => socket.write(payload))
      : net.connect({ host: '127.0.0.1', port }, () => socket.write(payload));
    socket.on('error', () => {});
    socket.on('data', () => {});
    socket.once('close', done);
  });
}
