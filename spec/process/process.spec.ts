// Process (API.md §4), after CPython's test_multiprocessing _TestProcess:
// exit codes, join with a timeout, start twice, terminate/kill, close, daemon.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { InvalidArgumentError, InvalidStateError, UncloneableError } from '../../lib/errors';
import { transfer } from '../../lib/codec/codec';
import { activeChildren, Process } from '../../lib/process/process';
import { cpuCount, currentProcess } from '../../lib/process/process-info';
import { Value } from '../../lib/shared/value';
import { task, tasks } from '../../lib/tasks/task-ref';
import type * as Targets from '../fixtures/process-tasks';

const targets = tasks<typeof Targets>(path.join(__dirname, '../fixtures/process-tasks.ts'));

const started: Process<unknown[]>[] = [];
function startProcess<P extends unknown[]>(process: Process<P>): Process<P> {
  started.push(process as Process<unknown[]>);
  process.start();
  return process;
}

let stderrWrite: jest.SpyInstance;
beforeEach(() => {
  // A failed target prints its error like Python does; keep the test output clean and check it.
  stderrWrite = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterEach(async () => {
  stderrWrite.mockRestore();
  for (const p of started.splice(0)) {
    try {
      if (p.isAlive()) p.kill();
      await p.join();
    } catch {
      // closed already
    }
  }
});

function firstMessage(port: MessagePort): Promise<unknown> {
  return new Promise((resolve) => {
    port.once('message', (message) => {
      port.close();
      resolve(message);
    });
  });
}

describe('Process exit codes', () => {
  test('null before start and while running, 0 after a normal return', async () => {
    const flags = new Int32Array(new SharedArrayBuffer(8));
    const p = new Process({ target: targets.waitForFlag, args: [flags] });
    expect(p.exitCode).toBeNull();
    expect(p.isAlive()).toBe(false);
    expect(p.pid).toBeUndefined();
    startProcess(p);
    expect(p.isAlive()).toBe(true);
    expect(p.exitCode).toBeNull();
    Atomics.store(flags, 0, 7);
    Atomics.notify(flags, 0);
    await p.join();
    expect(Atomics.load(flags, 1)).toBe(7);
    expect(p.exitCode).toBe(0);
    expect(p.isAlive()).toBe(false);
    expect(p.error).toBeUndefined();
  });

  test('1 after an uncaught error, which is kept (class, code, stack) and printed like Python', async () => {
    const p = startProcess(new Process({ target: targets.throwsTypeError, args: ['bad input'], name: 'Failing' }));
    await p.join();
    expect(p.exitCode).toBe(1);
    expect(p.error).toBeInstanceOf(TypeError);
    expect(p.error).toMatchObject({ message: 'bad input', code: 'E_TARGET', detail: { n: 1 } });
    expect((p.error as Error).stack).toContain('process-tasks.ts');
    const printed = stderrWrite.mock.calls.map((call) => String(call[0])).join('');
    expect(printed).toContain('Process Failing:\nTypeError: bad input');
  });

  test("1 after an error thrown later, outside the target's own call stack", async () => {
    const p = startProcess(new Process({ target: targets.throwsLater, args: ['late'] }));
    await p.join();
    expect(p.exitCode).toBe(1);
    expect(p.error).toBeInstanceOf(RangeError);
    expect((p.error as Error).message).toBe('late');
  });

  test('an inline target that throws: 1, with the error kept', async () => {
    const p = startProcess(
      new Process({
        target: (a: number, b: number) => {
          if (a + b > 2) throw new Error(`sum ${a + b} too big`);
        },
        args: [2, 3],
      }),
    );
    await p.join();
    expect(p.exitCode).toBe(1);
    expect((p.error as Error).message).toBe('sum 5 too big');
  });

  test('a target that cannot be loaded: 1, with ERR_TASK_NOT_FOUND kept', async () => {
    const p = startProcess(new Process({ target: task<() => void>(path.join(__dirname, '../fixtures/process-tasks.ts'), 'missing') }));
    await p.join();
    expect(p.exitCode).toBe(1);
    expect(p.error).toMatchObject({ code: 'ERR_TASK_NOT_FOUND' });
    expect((p.error as Error).message).toContain('`missing`');
  });

  test('n after process.exit(n), and the exit code the target set with process.exitCode', async () => {
    const codes = [0, 3, 42];
    const exiting = codes.map((code) => startProcess(new Process({ target: targets.exitsWith, args: [code] })));
    const setting = startProcess(new Process({ target: targets.setsExitCode, args: [5] }));
    await Promise.all([...exiting, setting].map((p) => p.join()));
    expect(exiting.map((p) => p.exitCode)).toEqual(codes);
    for (const p of exiting) expect(p.error).toBeUndefined();
    expect(setting.exitCode).toBe(5);
  });

  test('-15 after terminate(), -9 after kill(), of a blocked target', async () => {
    for (const [stop, expected] of [
      ['terminate', -15],
      ['kill', -9],
    ] as const) {
      const flags = new Int32Array(new SharedArrayBuffer(8));
      const p = startProcess(new Process({ target: targets.waitForFlag, args: [flags] }));
      p[stop]();
      p[stop]();
      await p.join();
      expect(p.exitCode).toBe(expected);
      expect(p.isAlive()).toBe(false);
      expect(Atomics.load(flags, 1)).toBe(0);
      p.terminate();
      expect(p.exitCode).toBe(expected);
    }
  });

  test('the worker ends when the target returns, even with a timer left behind', async () => {
    const p = startProcess(new Process({ target: targets.leavesTimer }));
    await p.join();
    expect(p.exitCode).toBe(0);
    const { port1, port2 } = new MessageChannel();
    const asyncTarget = startProcess(new Process({ target: targets.returnsLater, args: [transfer(port2)] }));
    await expect(firstMessage(port1)).resolves.toBe('returned');
    await asyncTarget.join();
    expect(asyncTarget.exitCode).toBe(0);
  });
});

describe('Process lifecycle', () => {
  test('join with a timeout while alive just returns; join again waits for the end', async () => {
    const flags = new Int32Array(new SharedArrayBuffer(8));
    const p = startProcess(new Process({ target: targets.waitForFlag, args: [flags] }));
    await p.join({ timeout: 20 });
    expect(p.isAlive()).toBe(true);
    expect(p.exitCode).toBeNull();
    await p.join({ timeout: 0 });
    expect(p.isAlive()).toBe(true);
    const joinedTwice = Promise.all([p.join(), p.join({ timeout: 60_000 })]);
    Atomics.store(flags, 0, 1);
    Atomics.notify(flags, 0);
    await joinedTwice;
    expect(p.exitCode).toBe(0);
    await p.join();
  });

  test('start twice → ERR_INVALID_STATE, also after the end', async () => {
    const p = startProcess(new Process({ target: targets.returns }));
    expect(() => p.start()).toThrow(InvalidStateError);
    await p.join();
    expect(() => p.start()).toThrow(/already started/);
    expect(p.exitCode).toBe(0);
  });

  test('join, terminate and kill before start → ERR_INVALID_STATE', async () => {
    const p = new Process({ target: targets.returns });
    await expect(p.join()).rejects.toBeInstanceOf(InvalidStateError);
    expect(() => p.terminate()).toThrow(InvalidStateError);
    expect(() => p.kill()).toThrow(InvalidStateError);
  });

  test('close: refused while running, then releases; afterwards members throw ERR_INVALID_STATE', async () => {
    const flags = new Int32Array(new SharedArrayBuffer(8));
    const p = startProcess(new Process({ target: targets.waitForFlag, args: [flags], name: 'Closable' }));
    expect(() => p.close()).toThrow('Cannot close Closable while it is still running');
    p.terminate();
    await p.join();
    p.close();
    p.close();
    expect(() => p.isAlive()).toThrow(InvalidStateError);
    expect(() => p.exitCode).toThrow(InvalidStateError);
    expect(() => p.pid).toThrow(InvalidStateError);
    expect(() => p.start()).toThrow(InvalidStateError);
    await expect(p.join()).rejects.toBeInstanceOf(InvalidStateError);
    expect(p.name).toBe('Closable');
    const unstarted = new Process({ target: targets.returns });
    unstarted.close();
    expect(() => unstarted.start()).toThrow('is closed');
  });

  test("pid is the worker's thread id; currentProcess() in the target reports name, pid and daemon", async () => {
    const { port1, port2 } = new MessageChannel();
    const p = startProcess(new Process({ target: targets.reportIdentity, args: [transfer(port2)], name: 'Reporter', daemon: true }));
    const info = await firstMessage(port1);
    await p.join();
    expect(typeof p.pid).toBe('number');
    expect(p.pid).toBeGreaterThan(0);
    expect(info).toMatchObject({ name: 'Reporter', pid: p.pid, daemon: true });
  });

  test('currentProcess() in the main thread is MainProcess; cpuCount() is a positive integer', () => {
    expect(currentProcess()).toMatchObject({ name: 'MainProcess', pid: 0, daemon: false });
    expect(Number.isInteger(cpuCount()) && cpuCount() >= 1).toBe(true);
  });

  test('default names are Process-N, increasing; a child of Process-N is Process-N:1', async () => {
    const a = new Process({ target: targets.returns });
    const b = new Process({ target: targets.returns });
    const na = Number(/^Process-(\d+)$/.exec(a.name)?.[1]);
    expect(b.name).toBe(`Process-${na + 1}`);
    b.name = 'renamed';
    expect(b.name).toBe('renamed');
    const { port1, port2 } = new MessageChannel();
    const parent = startProcess(new Process({ target: targets.startsChild, args: [transfer(port2)] }));
    const report = await firstMessage(port1);
    await parent.join();
    expect(report).toEqual({ name: `${parent.name}:1`, exitCode: 0 });
  });

  test('arguments go through the codec; an uncloneable one fails start() with its path', async () => {
    const { port1, port2 } = new MessageChannel();
    const p = startProcess(new Process({ target: targets.sumArgs, args: [transfer(port2), 1, 2, 39] }));
    await expect(firstMessage(port1)).resolves.toBe(42);
    await p.join();
    const args: [number, number] = [1, 2];
    const closed = new Process({ target: (a: number, b: number) => a + b, args });
    closed.close();
    expect(args).toEqual([1, 2]);
    const bad = new Process({ target: (o: unknown) => o, args: [{ cb: () => 1 }] });
    expect(() => bad.start()).toThrow(UncloneableError);
    expect(() => bad.start()).toThrow('args[0].cb is a function');
    expect(bad.isAlive()).toBe(false);
  });

  test('activeChildren lists the running processes only', async () => {
    const flags = new Int32Array(new SharedArrayBuffer(8));
    const p = startProcess(new Process({ target: targets.waitForFlag, args: [flags] }));
    expect(activeChildren()).toContain(p);
    Atomics.store(flags, 0, 1);
    Atomics.notify(flags, 0);
    await p.join();
    expect(activeChildren()).not.toContain(p);
  });

  test('daemon is settable before start only', () => {
    const p = startProcess(new Process({ target: targets.returns }));
    expect(p.daemon).toBe(false);
    expect(() => (p.daemon = true)).toThrow(InvalidStateError);
    const q = new Process({ target: targets.returns });
    q.daemon = true;
    expect(q.daemon).toBe(true);
  });

  test('bad options are ERR_INVALID_ARG, with the option named', async () => {
    expect(() => new Process(undefined as never)).toThrow(InvalidArgumentError);
    expect(() => new Process({ target: 5 as never })).toThrow(/`target`/);
    expect(() => new Process({ target: targets.returns, args: 'x' as never })).toThrow('Expected `args` to be an array of arguments');
    expect(() => new Process({ target: targets.returns, name: 7 as never })).toThrow('Expected `name` to be a string');
    expect(() => new Process({ target: targets.returns, daemon: 'yes' as never })).toThrow('Expected `daemon` to be a boolean');
    const outer = 3;
    expect(() => new Process({ target: () => outer })).toThrow(UncloneableError);
    const p = new Process({ target: targets.returns });
    startProcess(p);
    await expect(p.join({ timeout: NaN })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(p.join('soon' as never)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  test('type test: args are checked against the target', () => {
    // @ts-expect-error sumArgs takes a MessagePort first
    const make = (): unknown => new Process({ target: targets.sumArgs, args: [1, 2] });
    expect(typeof make).toBe('function');
  });
});

describe('daemon and the end of the program (a child node program)', () => {
  const script = path.join(__dirname, '../fixtures/process-program.ts');
  const run = (mode: string) => spawnSync(process.execPath, ['--require', 'tsx/cjs', script, mode], { encoding: 'utf8', timeout: 60_000 });

  test('a daemon that never ends does not hold the program open', () => {
    const result = run('daemon');
    expect(result.error).toBeUndefined();
    expect(result.signal).toBeNull();
    expect(result.stdout).toBe('daemon started\nmain done\n');
    expect(result.status).toBe(0);
  });

  test('a non-daemon keeps the program alive until it ends', () => {
    const result = run('non-daemon');
    expect(result.signal).toBeNull();
    expect(result.stdout).toBe('main done\nchild done\n');
    expect(result.status).toBe(0);
  });

  test('joining a daemon waits for it', () => {
    const result = run('join-daemon');
    expect(result.signal).toBeNull();
    expect(result.stdout).toBe('child done\njoined 0\n');
    expect(result.status).toBe(0);
  });
});

describe('from the built package (dist/, made by npm run build)', () => {
  test('Process runs its worker entry as .js; Executor and asCompleted work from CommonJS and ESM', () => {
    const root = path.join(__dirname, '../..');
    const script = `
      const { Process, Executor, asCompleted, tasks } = require('parapool');
      (async () => {
        const targets = tasks('./spec/fixtures/process-tasks.ts');
        const ok = new Process({ target: targets.exitsWith, args: [4] });
        ok.start();
        const bad = new Process({ target: (n) => { throw new Error('bad ' + n); }, args: [7] });
        bad.start();
        await Promise.all([ok.join(), bad.join()]);
        const esm = await import('parapool');
        const ex = new esm.Executor({ maxWorkers: 1 });
        const names = [];
        for await (const f of asCompleted([ex.submit((a, b) => a * b, 6, 7)])) names.push(await f.result());
        await ex.shutdown();
        console.log(JSON.stringify({ ok: ok.exitCode, bad: bad.exitCode, error: bad.error.message, names, same: esm.Executor === Executor }));
      })();
    `;
    const result = spawnSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ ok: 4, bad: 1, error: 'bad 7', names: [42], same: true });
    expect(result.stderr).toContain('Error: bad 7');
  });
});

describe('Process: hostile errors and negative timeouts (issue 9)', () => {
  test('a target that throws a hostile value ends with exitCode 1 and an error that says so', async () => {
    const kinds = ['getter', 'symbol-name', 'revoked-proxy'] as const;
    const processes = kinds.map((kind) => startProcess(new Process({ target: targets.throwsHostile, args: [kind] })));
    await Promise.all(processes.map((p) => p.join()));
    for (const p of processes) {
      expect(p.exitCode).toBe(1);
      expect(p.error).toBeInstanceOf(Error);
      expect(typeof (p.error as Error).message).toBe('string');
    }
    expect((processes[2]!.error as Error).message).toMatch(/Proxy/);
  });

  test('join({ timeout: -1 }) returns at once; join before start rejects (never throws)', async () => {
    const flags = new Int32Array(new SharedArrayBuffer(8));
    const p = startProcess(new Process({ target: targets.waitForFlag, args: [flags] }));
    await p.join({ timeout: -1 });
    expect(p.isAlive()).toBe(true);
    p.terminate();
    await p.join();
    const unstarted = new Process({ target: targets.returns });
    let joined: Promise<void> | undefined;
    expect(() => {
      joined = unstarted.join();
    }).not.toThrow();
    await expect(joined).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
  });
});

declare const parapoolProcessSpecGlobal: number;

describe('Process: what the entry loads only when needed', () => {
  test('shared arguments arrive as working objects (the codec and shared types load for them)', async () => {
    const counter = Value('i', 0);
    const p = startProcess(
      new Process({
        target: (value: { add(n: number): number }, times: number) => {
          for (let i = 0; i < times; i++) value.add(1);
        },
        args: [counter, 1000],
      }),
    );
    await p.join();
    expect(p.exitCode).toBe(0);
    expect(counter.value).toBe(1000);
  });

  test('an inline target that reads a global of the caller fails with the hint about args (the hint loads with the error)', async () => {
    const name = 'parapoolProcessSpecGlobal';
    (globalThis as Record<string, unknown>)[name] = 7;
    try {
      const p = startProcess(new Process({ target: () => parapoolProcessSpecGlobal }));
      await p.join();
      expect(p.exitCode).toBe(1);
      expect(p.error).toBeInstanceOf(ReferenceError);
      expect((p.error as Error).message).toMatch(/cannot use variables of the caller: pass the value in `args`/);
    } finally {
      delete (globalThis as Record<string, unknown>)[name];
    }
  });
});
