import type { Worker } from 'node:worker_threads';
import { decode, encode } from '../../lib/codec/codec';
import '../../lib/entry/shared-type-loader';
import { startTsWorker } from '../helpers/worker';

const FIXTURE = `${__dirname}/../fixtures/shared-values-worker.ts`;

/** A raw worker that runs the fixture's ops on codec-encoded payloads. */
export interface ValuesWorker {
  readonly worker: Worker;
  run<T = unknown>(op: string, payload: object): Promise<T>;
}

export async function startValuesWorker(): Promise<ValuesWorker> {
  const worker = startTsWorker(FIXTURE);
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const run = <T>(op: string, payload: object): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (reply: { result?: unknown; error?: string }): void => {
        worker.off('error', reject);
        if (reply.error !== undefined) reject(Object.assign(new Error(reply.error), { code: reply.error }));
        else resolve(decode(reply.result) as T);
      };
      worker.once('message', onMessage);
      worker.once('error', reject);
      const encoded = encode(payload, 'args');
      worker.postMessage({ op, payload: encoded.value }, encoded.transferList ?? []);
    });
  return { worker, run };
}
