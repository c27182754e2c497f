import { encode } from '../../lib/codec';
import { exited, startTsWorker } from '../helpers/worker';

export interface CallOutcome {
  value?: unknown;
  code?: string;
  message?: string;
  threadId: number;
}

/** Runs `target[method](...args)` in a fresh worker thread; resolves with its outcome once the worker exited. */
export async function callInWorker(
  target: object,
  method: string,
  args: unknown[] = [],
  awaitResult = false,
): Promise<CallOutcome> {
  const worker = startTsWorker(`${__dirname}/../fixtures/sync-call.ts`, encode({ target, method, args, awaitResult }).value);
  try {
    const outcome = new Promise<CallOutcome>((resolve) => worker.once('message', resolve));
    expect(await exited(worker)).toBe(0);
    return await outcome;
  } finally {
    await worker.terminate();
  }
}
