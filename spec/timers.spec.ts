import { deadlineOf, remainingMs, setLongTimeout } from '../lib/timers';
import { checkTimeout } from '../lib/validate';

describe('timeouts (lib/timers.ts, API.md §8)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('a timeout past 2^31 − 1 ms is honoured exactly, not fired at once', () => {
    const fired = jest.fn();
    const ms = 2 ** 31 + 5_000;
    setLongTimeout(fired, ms);
    jest.advanceTimersByTime(1);
    expect(fired).not.toHaveBeenCalled();
    jest.advanceTimersByTime(2 ** 31 - 1);
    expect(fired).not.toHaveBeenCalled();
    jest.advanceTimersByTime(ms - 2 ** 31 - 1);
    expect(fired).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('clear() stops it, at any stage of the chain', () => {
    const fired = jest.fn();
    const timer = setLongTimeout(fired, 3 * 2 ** 31);
    jest.advanceTimersByTime(2 ** 31 + 10);
    timer.clear();
    jest.advanceTimersByTime(4 * 2 ** 31);
    expect(fired).not.toHaveBeenCalled();
  });

  it('negative and zero delays fire on the next turn', () => {
    const fired = jest.fn();
    setLongTimeout(fired, -5);
    expect(fired).not.toHaveBeenCalled();
    jest.advanceTimersByTime(0);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('deadlines: none for undefined/Infinity, now for ≤ 0', () => {
    expect(deadlineOf(undefined)).toBe(Infinity);
    expect(deadlineOf(Infinity)).toBe(Infinity);
    expect(remainingMs(deadlineOf(-10))).toBe(0);
    expect(remainingMs(deadlineOf(2 ** 40))).toBe(2 ** 40);
    expect(remainingMs(Infinity)).toBe(Infinity);
  });

  it('checkTimeout: ≤ 0 means do not wait, NaN and non-numbers are ERR_INVALID_ARG', () => {
    expect(checkTimeout('timeout', -1)).toBe(0);
    expect(checkTimeout('timeout', 0)).toBe(0);
    expect(checkTimeout('timeout', 2 ** 40)).toBe(2 ** 40);
    expect(checkTimeout('timeout', Infinity)).toBe(Infinity);
    expect(checkTimeout('timeout', undefined)).toBeUndefined();
    expect(() => checkTimeout('timeout', NaN)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    expect(() => checkTimeout('timeout', '5')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
  });
});
