/**
 * The module a `Process` worker runs: loads the target (a task module export or
 * an inline function's source), runs `target(...args)`, and ends the thread
 * when it returns, as a Python child process ends when its `run()` returns,
 * even if timers or handles are left. The exit code is then `process.exitCode`
 * (0 unless the target set it). An error thrown by the target, or left uncaught
 * while it runs, is sent to the main thread encoded (so it keeps its class,
 * code and stack) and the thread exits with code 1. `process.exit(n)` inside
 * the target ends the thread at once with `n`.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import type * as Codec from '../codec/codec';
import type * as ErrorCodec from '../codec/error-codec';
import {
  CURRENT_IDENTITY,
  CURRENT_PROCESS,
  type ProcessEndingMessage,
  type ProcessFailedMessage,
  type ProcessInfo,
  type ProcessWorkerData,
} from '../process/protocol';
import type * as NameHint from './name-hint';
import { loadTask } from './load-task';

// The codec, the error codec and the shared types load only when this process needs them
// (shared arguments, an error to report): a target that takes plain values and returns
// starts with the task loader alone.

const data = workerData as ProcessWorkerData;
const info: ProcessInfo = Object.freeze({
  name: data.name,
  pid: threadId,
  daemon: data.daemon,
});
Object.defineProperty(globalThis, CURRENT_PROCESS, { value: info, enumerable: false, configurable: false, writable: false });
Object.defineProperty(globalThis, CURRENT_IDENTITY, {
  value: Object.freeze([...data.identity]),
  enumerable: false,
  configurable: false,
  writable: false,
});

let ended = false;

/** Reports the error and exits with code 1, whatever was thrown: encoding or posting it can never stop the exit. */
function fail(error: unknown): void {
  if (ended) return;
  ended = true;
  try {
    const { encodeError } = require('../codec/error-codec') as typeof ErrorCodec;
    const encoded = encodeError(error);
    try {
      parentPort!.postMessage({
        type: 'parapool.process.failed',
        error: encoded.error,
        shared: encoded.shared,
      } satisfies ProcessFailedMessage);
    } catch {
      // The encoded error held something that cannot be posted: say so instead.
      const plain = encodeError(new Error('The target threw an error that cannot be sent to the parent thread'));
      parentPort!.postMessage({ type: 'parapool.process.failed', error: plain.error, shared: false } satisfies ProcessFailedMessage);
    }
  } finally {
    process.exit(1);
  }
}

function succeed(): void {
  if (ended) return;
  ended = true;
  const exitCode = typeof process.exitCode === 'number' ? process.exitCode : Number(process.exitCode ?? 0) || 0;
  parentPort!.postMessage({ type: 'parapool.process.ending', exitCode } satisfies ProcessEndingMessage);
  process.exit(exitCode);
}

process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

async function run(): Promise<void> {
  const target = await loadTask(data.target);
  let args = data.args;
  if (data.shared) {
    require('./shared-type-loader');
    args = (require('../codec/codec') as typeof Codec).decode(args);
  }
  await target(...args);
}

run().then(succeed, (error: unknown) => {
  if (data.target.file === '') {
    (require('./name-hint') as typeof NameHint).withUndefinedNameHint(
      error,
      ' (an inline Process target runs in a worker thread and cannot use variables of the caller: pass the value in `args`, or move the function into a task module)',
    );
  }
  fail(error);
});
