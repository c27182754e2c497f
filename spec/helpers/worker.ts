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
