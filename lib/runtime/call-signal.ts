/**
 * One AbortSignal per call that has a `signal` or a `timeout`: aborted with
 * CancelledError when the caller's signal fires, with TimeoutError when the
 * timeout elapses. Calls without either pay nothing.
 */
import { CancelledError, TimeoutError } from '../errors';
import { setLongTimeout, type LongTimer } from '../timers';

export interface CallSignal {
  readonly signal: AbortSignal | undefined;
  /** Clears the timer and the listener; call when the call settles. */
  dispose(): void;
}

const NONE: CallSignal = { signal: undefined, dispose: () => undefined };

export function callSignal(signal: AbortSignal | undefined, timeout: number | undefined, what: string): CallSignal {
  if (signal === undefined && (timeout === undefined || timeout === Infinity)) return NONE;
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(new CancelledError(`${what} was cancelled by its AbortSignal`, { cause: signal!.reason }));
  let timer: LongTimer | undefined;
  if (signal !== undefined) {
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  if (timeout !== undefined && timeout !== Infinity && !controller.signal.aborted) {
    timer = setLongTimeout(() => controller.abort(new TimeoutError(`${what} timed out after ${timeout} ms`)), timeout);
  }
  return {
    signal: controller.signal,
    dispose() {
      timer?.clear();
      signal?.removeEventListener('abort', onAbort);
    },
  };
}
