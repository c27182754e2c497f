import type { Worker } from 'node:worker_threads';
import { encode } from '../../lib/codec/codec';
import { startTsWorker } from '../helpers/worker';

const FIXTURE = `${__dirname}/../fixtures/sync-counter.ts`;

/**
 * Starts `count` workers that each add 1 to `counter[0]` `iterations` times
 * under `lock` (read, then write), once per `round()`. `counter` needs 2 words:
 * word 1 is the workers' start line.
 */
export async function counterWorkers(
  lock: object,
  counter: SharedArrayBuffer,
  options: { count: number; iterations: number; nested?: boolean },
): Promise<{ round(): Promise<void>; close(): Promise<void> }> {
  const data = encode({ lock, counter, iterations: options.iterations, parties: options.count, nested: options.nested ?? false }).value;
  const workers: Worker[] = [];
  for (let i = 0; i < options.count; i++) workers.push(startTsWorker(FIXTURE, data));
  let rounds = 0;
  const round = () => {
    rounds += 1;
    return Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const onError = (error: Error) => reject(error);
            worker.once('error', onError);
            worker.once('message', () => {
              worker.off('error', onError);
              resolve();
            });
            worker.postMessage(rounds);
          }),
      ),
    ).then(() => undefined);
  };
  const close = async () => {
    await Promise.all(workers.map((worker) => worker.terminate()));
  };
  return { round, close };
}
