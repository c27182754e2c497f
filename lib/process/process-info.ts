/**
 * Questions about the running program: how many CPUs, and which process (thread)
 * is asking. Python's `multiprocessing.cpu_count()` and `current_process()`.
 */
import * as os from 'node:os';
import { isMainThread, threadId } from 'node:worker_threads';
import { CURRENT_IDENTITY, CURRENT_PROCESS, type ProcessInfo } from './protocol';

export type { ProcessInfo } from './protocol';

/**
 * The number of CPUs this program may use (`os.availableParallelism()`, which
 * respects CPU affinity): the default worker count of `Pool` and `Executor`.
 *
 * @example
 * const pool = new Pool({ workers: Math.max(1, cpuCount() - 1) });
 */
export function cpuCount(): number {
  return os.availableParallelism();
}

/**
 * Which process the calling code runs in, like Python's `current_process()`:
 * in the main thread `{ name: 'MainProcess', pid: 0 }`; in a `Process` target
 * its `name` and `pid` (thread id); in a pool worker (a Pool or Executor task)
 * and any other worker thread `PoolWorker-<threadId>`.
 *
 * @example
 * export function whoami(): string {        // a task module
 *   const me = currentProcess();
 *   return `${me.name} (thread ${me.pid})`;
 * }
 */
export function currentProcess(): ProcessInfo {
  const recorded = (globalThis as Record<symbol, ProcessInfo | undefined>)[CURRENT_PROCESS];
  if (recorded !== undefined) return recorded;
  if (isMainThread) return MAIN_PROCESS;
  return { name: `PoolWorker-${threadId}`, pid: threadId, daemon: true };
}

/** Python's `_identity` of the calling thread: `[]` outside a Process worker. */
export function currentIdentity(): readonly number[] {
  return (globalThis as Record<symbol, readonly number[] | undefined>)[CURRENT_IDENTITY] ?? [];
}

const MAIN_PROCESS: ProcessInfo = Object.freeze({ name: 'MainProcess', pid: 0, daemon: false });
