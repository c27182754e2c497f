/**
 * Process: Python's `multiprocessing.Process` on a worker thread of its own
 * (API.md §4). Not a pool worker: one `new Worker()` per start, ended when
 * the target returns.
 */
import * as path from 'node:path';
import { inspect } from 'node:util';
import { Worker } from 'node:worker_threads';
import { encode } from '../codec/codec';
import { decodeError } from '../codec/error-codec';
import { InvalidStateError } from '../errors';
import { currentIdentity, currentProcess } from './process-info';
import type { ProcessMessage, ProcessWorkerData } from './protocol';
// Threads begin with the dead-thread bitmap that robust locks read (it must exist before they start).
import '../atomics/liveness';
import { reserveDirectory } from '../shared/shm-env';
import { threadExecArgv } from '../tasks/exec-argv';
import { taskSpecOf, type TaskRef } from '../tasks/task-ref';
import { checkBoolean, checkOptions, checkTimeout, invalidArg } from '../validate';
import { setLongTimeout, type LongTimer } from '../timers';

/** Options of `new Process()`. */
export interface ProcessOptions<P extends unknown[]> {
  /**
   * What to run: a `TaskRef` (from `tasks()`/`task()`) or a self-contained
   * function (sent as source text), exactly as for Pool tasks.
   */
  readonly target: TaskRef<(...args: P) => unknown> | ((...args: P) => unknown);
  /**
   * Arguments of `target`; they cross by structured clone plus parapool's codec,
   * so shared objects (Value, Queue, Lock, ...) arrive working.
   * @default []
   */
  readonly args?: NoInfer<P>;
  /** @default `Process-N` (`Process-1:2` for the 2nd child of `Process-1`) */
  readonly name?: string;
  /**
   * A daemon does not keep the program alive: it is stopped when the main
   * thread has nothing else to do. A non-daemon keeps the program running until it ends.
   * @default false
   */
  readonly daemon?: boolean;
}

/** Options of `Process.join()`. */
export interface JoinOptions {
  /** Milliseconds to wait at most; then `join` just returns (check `exitCode`). @default undefined (no limit) */
  readonly timeout?: number;
}

/** Python reports a child killed by a signal as minus the signal number. */
const SIGTERM_EXIT = -15;
const SIGKILL_EXIT = -9;

const devEntry = __filename.endsWith('.ts');
const PROCESS_ENTRY = path.join(__dirname, '..', 'entry', devEntry ? 'process-worker-dev.cjs' : 'process-worker.js');

/** Python's `_process_counter`: numbers this thread's children. */
let childCounter = 0;
const liveChildren = new Set<Process<unknown[]>>();

/**
 * Runs `target(...args)` in a worker thread of its own, with the API of
 * Python's `multiprocessing.Process`.
 *
 * `exitCode` is `null` until the process ends, then `0` after a normal return,
 * `1` after an uncaught error (the error is kept in `error`, and printed to
 * stderr as Python does), `n` after `process.exit(n)` in the target, and `-15`
 * / `-9` after `terminate()` / `kill()`. The worker ends when the target
 * returns (or its promise settles), even if it left timers behind.
 *
 * @example
 * import { Process, tasks } from 'parapool';
 * const work = tasks<typeof import('./workers/math')>(require.resolve('./workers/math'));
 * const p = new Process({ target: work.sumOfSquares, args: [5_000_000], name: 'Task-1' });
 * p.start();
 * await p.join();
 * console.log(p.exitCode);   // 0
 */
export class Process<P extends unknown[] = unknown[]> {
  readonly #spec: ReturnType<typeof taskSpecOf>;
  #args: readonly unknown[];
  readonly #identity: readonly number[];
  #name: string;
  #daemon: boolean;
  #worker: Worker | undefined;
  #pid: number | undefined;
  #started = false;
  #alive = false;
  #closed = false;
  #exitCode: number | null = null;
  #error: unknown;
  #failed = false;
  #endingCode: number | undefined;
  #killedWith: number | undefined;
  #exited: Promise<void> | undefined;
  #joiners = 0;

  /**
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a bad option.
   * @throws UncloneableError (`ERR_UNCLONEABLE`) for an inline target that uses outer variables.
   */
  constructor(options: ProcessOptions<P>) {
    if (typeof options !== 'object' || options === null) throw invalidArg('options', 'an options object with a `target`', options);
    const opts = checkOptions('options', options);
    this.#spec = taskSpecOf(opts.target, 'target');
    if (opts.args !== undefined && !Array.isArray(opts.args)) throw invalidArg('args', 'an array of arguments', opts.args);
    this.#args = opts.args === undefined ? [] : [...opts.args];
    const parent = currentProcess();
    this.#identity = [...currentIdentity(), ++childCounter];
    this.#name = opts.name === undefined ? `Process-${this.#identity.join(':')}` : checkName(opts.name);
    // Python: a daemon's children inherit its daemon flag by default.
    this.#daemon = checkBoolean('daemon', opts.daemon) ?? parent.daemon;
  }

  /** The process's name, used in messages; not unique. @default `Process-N` */
  get name(): string {
    return this.#name;
  }

  set name(name: string) {
    this.#name = checkName(name);
  }

  /**
   * Whether this is a daemon (does not keep the program alive). Settable only before `start()`.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when set after `start()`.
   */
  get daemon(): boolean {
    return this.#daemon;
  }

  set daemon(daemon: boolean) {
    if (this.#started) throw new InvalidStateError(`Cannot change \`daemon\` of ${this.#name}: it has already started`);
    this.#daemon = checkBoolean('daemon', daemon) ?? false;
  }

  /**
   * The worker's thread id once started (`undefined` before).
   * @throws InvalidStateError (`ERR_INVALID_STATE`) after `close()`.
   */
  get pid(): number | undefined {
    this.#checkNotClosed();
    return this.#pid;
  }

  /**
   * `null` until the process ends; then 0 (returned), 1 (uncaught error), n
   * (`process.exit(n)`), -15 (`terminate()`) or -9 (`kill()`).
   * @throws InvalidStateError (`ERR_INVALID_STATE`) after `close()`.
   */
  get exitCode(): number | null {
    this.#checkNotClosed();
    return this.#exitCode;
  }

  /**
   * The error that ended the process (exit code 1), rebuilt with its class,
   * message, code and the worker-side stack; `undefined` otherwise. Python
   * only prints it in the child; here it stays readable after `join()`.
   */
  get error(): unknown {
    return this.#error;
  }

  /**
   * Starts the worker thread running `target(...args)`; returns at once.
   *
   * @throws InvalidStateError (`ERR_INVALID_STATE`) when called twice, or after `close()`.
   * @throws UncloneableError (`ERR_UNCLONEABLE`) when an argument cannot cross threads (its path is named).
   * @example
   * const p = new Process({ target: (n: number) => console.log(n * 2), args: [21] });
   * p.start();
   */
  start(): void {
    this.#checkNotClosed();
    if (this.#started) throw new InvalidStateError(`${this.#name} was already started: a process can only be started once`);
    const encoded = encode([...this.#args], 'args');
    const workerData: ProcessWorkerData = {
      target: { file: this.#spec.file, name: this.#spec.name },
      args: encoded.value,
      shared: encoded.shared,
      name: this.#name,
      identity: this.#identity,
      daemon: this.#daemon,
    };
    reserveDirectory();
    const worker = new Worker(PROCESS_ENTRY, {
      workerData,
      transferList: encoded.transferList as never,
      name: this.#name,
      execArgv: threadExecArgv(),
    });
    this.#started = true;
    this.#alive = true;
    this.#worker = worker;
    this.#pid = worker.threadId;
    liveChildren.add(this as Process<unknown[]>);
    worker.on('message', (message: ProcessMessage) => this.#onMessage(message));
    // An error the entry could not catch (e.g. the entry itself failed to load).
    worker.on('error', (error) => {
      if (!this.#failed) this.#fail(error);
    });
    this.#exited = new Promise<void>((resolve) => {
      worker.once('exit', (code) => {
        this.#onExit(code);
        resolve();
      });
    });
    // After the listeners: adding a 'message' listener refs the worker again.
    if (this.#daemon) worker.unref();
  }

  /**
   * Waits until the process ends, or until `timeout` ms pass (then it just
   * returns: check `isAlive()` or `exitCode`). A daemon being joined keeps the
   * program alive while the join lasts.
   *
   * @throws InvalidStateError (`ERR_INVALID_STATE`) before `start()` or after `close()`.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for a bad `timeout`.
   * @example
   * await p.join({ timeout: 1000 });
   * if (p.isAlive()) p.terminate();
   */
  async join(options?: JoinOptions): Promise<void> {
    this.#checkNotClosed();
    const { timeout: rawTimeout } = checkOptions('options', options);
    const timeout = checkTimeout('timeout', rawTimeout);
    if (!this.#started) throw new InvalidStateError(`Cannot join ${this.#name}: it was not started`);
    if (!this.#alive || timeout === 0) return;
    const worker = this.#worker!;
    if (this.#joiners++ === 0 && this.#daemon) worker.ref();
    let timer: LongTimer | undefined;
    try {
      await Promise.race([
        this.#exited,
        ...(timeout === undefined || timeout === Infinity
          ? []
          : [new Promise<void>((resolve) => (timer = setLongTimeout(resolve, timeout)))]),
      ]);
    } finally {
      timer?.clear();
      if (--this.#joiners === 0 && this.#daemon && this.#alive) worker.unref();
    }
  }

  /**
   * True from `start()` until the process ends.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) after `close()`.
   */
  isAlive(): boolean {
    this.#checkNotClosed();
    return this.#alive;
  }

  /**
   * Stops the process now (Python sends SIGTERM; a thread cannot catch it, so
   * this is `worker.terminate()`); `exitCode` becomes -15. No-op once it ended.
   *
   * @throws InvalidStateError (`ERR_INVALID_STATE`) before `start()` or after `close()`.
   * @example
   * p.terminate(); await p.join(); p.exitCode;   // -15
   */
  terminate(): void {
    this.#stop(SIGTERM_EXIT, 'terminate');
  }

  /**
   * Like `terminate()`, reported as Python's SIGKILL: `exitCode` becomes -9.
   *
   * @throws InvalidStateError (`ERR_INVALID_STATE`) before `start()` or after `close()`.
   * @example
   * p.kill(); await p.join(); p.exitCode;   // -9
   */
  kill(): void {
    this.#stop(SIGKILL_EXIT, 'kill');
  }

  /**
   * Releases the worker and the arguments. Afterwards most members throw
   * `ERR_INVALID_STATE`; `name`, `daemon` and `error` stay readable. Idempotent.
   *
   * @throws InvalidStateError (`ERR_INVALID_STATE`) while the process is running (join or terminate it first).
   * @example
   * await p.join(); p.close();
   */
  close(): void {
    if (this.#closed) return;
    if (this.#alive) {
      throw new InvalidStateError(`Cannot close ${this.#name} while it is still running: join() or terminate() it first`);
    }
    this.#closed = true;
    this.#worker?.removeAllListeners();
    this.#worker = undefined;
    this.#args = [];
  }

  /** Shown by `console.log`: `Process { name: 'Process-1', state: 'stopped', exitCode: 0 }`. */
  [inspect.custom](): string {
    const state = this.#closed ? 'closed' : !this.#started ? 'initial' : this.#alive ? 'started' : 'stopped';
    const extra = this.#alive ? `, pid: ${this.#pid}` : this.#exitCode !== null && !this.#closed ? `, exitCode: ${this.#exitCode}` : '';
    return `Process { name: ${JSON.stringify(this.#name)}, state: '${state}'${this.#daemon ? ', daemon' : ''}${extra} }`;
  }

  #stop(exitCode: number, what: string): void {
    this.#checkNotClosed();
    if (!this.#started) throw new InvalidStateError(`Cannot ${what} ${this.#name}: it was not started`);
    if (!this.#alive || this.#killedWith !== undefined) return;
    this.#killedWith = exitCode;
    void this.#worker!.terminate();
  }

  #onMessage(message: ProcessMessage): void {
    if (message?.type === 'parapool.process.failed') this.#fail(decodeError(message.error, message.shared));
    else if (message?.type === 'parapool.process.ending') this.#endingCode = message.exitCode;
  }

  #fail(error: unknown): void {
    this.#failed = true;
    this.#error = error;
    const text = error instanceof Error ? (error.stack ?? String(error)) : inspect(error);
    process.stderr.write(`Process ${this.#name}:\n${text}\n`);
  }

  #onExit(code: number): void {
    this.#alive = false;
    liveChildren.delete(this as Process<unknown[]>);
    // The worker's own end wins over a terminate() that came too late.
    if (this.#endingCode !== undefined) this.#exitCode = this.#endingCode;
    else if (this.#failed) this.#exitCode = 1;
    else this.#exitCode = this.#killedWith ?? code;
  }

  #checkNotClosed(): void {
    if (this.#closed) throw new InvalidStateError(`${this.#name} is closed`);
  }
}

function checkName(name: unknown): string {
  if (typeof name !== 'string') throw invalidArg('name', 'a string', name);
  return name;
}

/**
 * The processes started by this thread that are still running, like Python's
 * `multiprocessing.active_children()`.
 *
 * @example
 * for (const child of activeChildren()) child.terminate();
 */
export function activeChildren(): Process<unknown[]>[] {
  return [...liveChildren];
}
