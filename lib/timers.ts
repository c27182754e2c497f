/**
 * Timeouts as API.md §8 defines them: milliseconds; `0` or a negative number
 * means "do not wait"; `undefined` or `Infinity` means no limit; any finite
 * timeout is honoured exactly. Node's own timers fire at once past 2^31 − 1 ms
 * (they overflow), so every wait in parapool that needs a timer takes it from
 * here: a long delay is a chain of shorter timers towards one deadline.
 */

/** The longest delay one Node timer holds without overflowing. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** A pending timer from `setLongTimeout`. */
export interface LongTimer {
  /** Cancels it; harmless after it fired. */
  clear(): void;
  /** Lets the process exit while only this timer is pending (like `Timeout.unref`). */
  unref(): LongTimer;
}

/**
 * Like `setTimeout(callback, ms)`, for any finite `ms` (negative counts as 0):
 * delays past 2^31 − 1 ms are chained, never truncated.
 */
export function setLongTimeout(callback: () => void, ms: number): LongTimer {
  const deadline = performance.now() + Math.max(0, ms);
  let timer: NodeJS.Timeout;
  let referenced = true;
  const arm = (): void => {
    const left = deadline - performance.now();
    if (left <= MAX_TIMER_DELAY) {
      timer = setTimeout(callback, Math.max(0, left));
    } else {
      timer = setTimeout(arm, MAX_TIMER_DELAY);
    }
    if (!referenced) timer.unref();
  };
  arm();
  const handle: LongTimer = {
    clear: () => clearTimeout(timer),
    unref: () => {
      referenced = false;
      timer.unref();
      return handle;
    },
  };
  return handle;
}

/**
 * The deadline (a `performance.now()` time) of a timeout checked by
 * `checkTimeout`: `Infinity` for no limit, now for "do not wait".
 */
export function deadlineOf(timeout: number | undefined): number {
  if (timeout === undefined || timeout === Infinity) return Infinity;
  return performance.now() + Math.max(0, timeout);
}

/** Milliseconds left until `deadline` (≥ 0; `Infinity` for none). */
export function remainingMs(deadline: number): number {
  if (deadline === Infinity) return Infinity;
  return Math.max(0, deadline - performance.now());
}
