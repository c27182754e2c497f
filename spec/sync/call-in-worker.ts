import { encode } from '../../lib/codec/codec';
import { exited, startTsWorker } from '../helpers/worker';

export interface CallOutcome {
  value?: unknown;
  code?: string;
  message?: string;
  threadId: number;
}

/** Runs `target[method](...args)` (`repeat` times, back to back) in a fresh worker thread; resolves with its outcome once the worker exited. */
export async function callInWorker(
  target: object,
  method: string,
  args: unknown[] = [],
  options: { awaitResult?: boolean; repeat?: number } = {},
): Promise<CallOutcome> {
  const data = encode({ target, method, args, awaitResult: options.awaitResult ?? false, repeat: options.repeat ?? 1 }).value;
  const worker = startTsWorker(`${__dirname}/../fixtures/sync-call.ts`, data);
  try {
    const outcome = new Promise<CallOutcome>((resolve) => worker.once('message', resolve));
    expect(await exited(worker)).toBe(0);
    return await outcome;
  } finally {
    await worker.terminate();
  }
}
