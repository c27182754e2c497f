import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a raw worker thread on a TypeScript file, for tests of primitives that
 * do not go through a Pool. `workerData` reaches the file as `workerData.data`.
 */
export function startTsWorker(file: string, data?: unknown, options: Omit<WorkerOptions, 'workerData'> = {}): Worker {
  return new Worker(path.join(__dirname, 'ts-worker-bootstrap.cjs'), {
    ...options,
    workerData: { __tsFile: path.resolve(file), data },
  });
}

/** Resolves with the worker's exit code; rejects on an uncaught error in it. */
export function exited(worker: Worker): Promise<number> {
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', resolve);
  });
}

/**
 * Runs a TypeScript file in a plain `node` process (tsx's CommonJS hook), for
 * what only a process of its own can show (an unhandled rejection, an exit).
 * The child is killed if it runs past `timeoutMs`.
 */
export function runTsScript(file: string, args: string[] = [], timeoutMs = 15_000): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--require', 'tsx/cjs', path.resolve(file), ...args], { encoding: 'utf8', timeout: timeoutMs });
}
