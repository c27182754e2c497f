/**
 * One AbortSignal per call that has a `signal` or a `timeout`: aborted with
 * CancelledError when the caller's signal fires, with TimeoutError when the
 * timeout elapses. Calls without either pay nothing.
 *
 * A caller's signal gets at most ONE listener from parapool however many calls
 * share it (11 calls on one signal must not print MaxListenersExceededWarning):
 * the calls of a signal are a set behind that listener. The internal signals
 * are handed to piscina and to AbortSignal consumers per running job, so their
 * listener limit is lifted.
 */
import { setMaxListeners } from 'node:events';
import { CancelledError, TimeoutError } from '../errors';
import { type LongTimer, setLongTimeout } from '../timers';

export interface CallSignal {
  readonly signal: AbortSignal | undefined;
  /** Clears the timer and the listener; call when the call settles. */
  dispose(): void;
}

const NONE: CallSignal = { signal: undefined, dispose: () => undefined };

const subscribers = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `onAbort` once when `signal` aborts; returns the unsubscriber. One listener per signal in all. */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  let set = subscribers.get(signal);
  if (set === undefined) {
    const callbacks = new Set<() => void>();
    set = callbacks;
    subscribers.set(signal, callbacks);
    signal.addEventListener(
      'abort',
      () => {
        subscribers.delete(signal);
        for (const each of [...callbacks]) each();
      },
      { once: true },
    );
  }
  set.add(callback);
  const subscribed = set;
  return () => subscribed.delete(callback);
}

/** An AbortController whose signal may be watched by any number of jobs. */
export function internalController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

export function callSignal(signal: AbortSignal | undefined, timeout: number | undefined, what: string): CallSignal {
  if (signal === undefined && (timeout === undefined || timeout === Infinity)) return NONE;
  const controller = internalController();
  const abort = (): void => controller.abort(new CancelledError(`${what} was cancelled by its AbortSignal`, { cause: signal!.reason }));
  let timer: LongTimer | undefined;
  let unsubscribe: (() => void) | undefined;
  if (signal !== undefined) {
    if (signal.aborted) abort();
    else unsubscribe = onAbort(signal, abort);
  }
  if (timeout !== undefined && timeout !== Infinity && !controller.signal.aborted) {
    timer = setLongTimeout(() => controller.abort(new TimeoutError(`${what} timed out after ${timeout} ms`)), timeout);
  }
  return {
    signal: controller.signal,
    dispose() {
      timer?.clear();
      unsubscribe?.();
    },
  };
}
