/**
 * Unit tests of the futex kernel (lib/atomics/futex.ts) on in-memory buffers:
 * regions and tags, the Park/Steps machinery of runSync/runAsync, deadlines,
 * and option reading. Deterministic: nothing here depends on another thread.
 */
import {
  acquireDeadline,
  attachRegion,
  createRegion,
  deadlineAfter,
  park,
  readOptions,
  runAsync,
  runSync,
  seal,
  type Steps,
  TAGS,
  waitTimeout,
} from '../../lib/atomics/futex';

const bad = expect.objectContaining({ code: 'ERR_INVALID_ARG' });

describe('regions', () => {
  it('a new region is zeroed at its placement, sealed last with its tag, and attachable', () => {
    const buffer = new SharedArrayBuffer(32);
    new Int32Array(buffer).fill(7);
    const region = createRegion('Event', 8, { buffer, byteOffset: 8 });
    expect(Array.from(new Int32Array(buffer))).toEqual([7, 7, 0, 0, 7, 7, 7, 7]);
    expect(() => attachRegion('Event', 8, buffer, 8)).toThrow('found tag 0x0');
    seal('Event', region);
    expect(new Int32Array(buffer)[2]).toBe(TAGS.Event);
    expect(attachRegion('Event', 8, buffer, 8).words.length).toBe(2);
    expect(() => attachRegion('Lock', 8, buffer, 8)).toThrow('found a Event');
  });

  it('bad windows are ERR_INVALID_ARG', () => {
    const buffer = new SharedArrayBuffer(16);
    expect(() => createRegion('Lock', 8, { buffer, byteOffset: 12 })).toThrow(bad);
    expect(() => createRegion('Lock', 8, { buffer, byteOffset: 2 })).toThrow(bad);
    expect(() => createRegion('Lock', 8, { byteOffset: 8 })).toThrow(bad);
    expect(() => createRegion('Lock', 8, { buffer: new ArrayBuffer(8) as unknown as SharedArrayBuffer })).toThrow(bad);
    expect(() => createRegion('Lock', 8, { buffer: new Proxy(buffer, {}) })).toThrow('got a Proxy');
    expect(() => attachRegion('Lock', 8, buffer, -4)).toThrow(bad);
  });
});

describe('Steps, runSync, runAsync', () => {
  function* waitForWord(words: Int32Array, deadline: number): Steps<string[]> {
    const seen: string[] = [];
    for (;;) {
      if (Atomics.load(words, 0) !== 0) return seen;
      const result = yield park(words, 0, 0, deadline);
      seen.push(result);
      if (result === 'timed-out') return seen;
    }
  }

  it("runSync: 'not-equal' when the word already changed, 'timed-out' only once the deadline passed", () => {
    const words = new Int32Array(new SharedArrayBuffer(4));
    const started = performance.now();
    expect(runSync(waitForWord(words, started + 20))).toEqual(['timed-out']);
    expect(performance.now() - started).toBeGreaterThanOrEqual(19);
    words[0] = 1;
    expect(runSync(waitForWord(words, Number.POSITIVE_INFINITY))).toEqual([]);
    // A park whose expected value is stale returns 'not-equal' at once.
    function* stale(): Steps<string> {
      return yield park(words, 0, 0, Number.POSITIVE_INFINITY);
    }
    expect(runSync(stale())).toBe('not-equal');
  });

  it('runAsync: woken by a notify, and a deadline of now does not wait', async () => {
    const words = new Int32Array(new SharedArrayBuffer(4));
    const waiting = runAsync(waitForWord(words, Number.POSITIVE_INFINITY));
    await new Promise((resolve) => setImmediate(resolve));
    Atomics.store(words, 0, 1);
    Atomics.notify(words, 0);
    expect(await waiting).toEqual(['ok']);
    words[0] = 0;
    expect(await runAsync(waitForWord(words, performance.now()))).toEqual(['timed-out']);
  });

  it('runAsync: a deadline past 2^31 ms is kept (the wait is still pending later), then woken', async () => {
    const words = new Int32Array(new SharedArrayBuffer(4));
    let settled = false;
    const waiting = runAsync(waitForWord(words, deadlineAfter(2 ** 31 + 5))).then((seen) => {
      settled = true;
      return seen;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
    Atomics.store(words, 0, 1);
    Atomics.notify(words, 0);
    expect(await waiting).toEqual(['ok']);
  });
});

describe('timeouts and options', () => {
  it('deadlineAfter: undefined and Infinity are no deadline; negatives were clamped to 0 by the checks', () => {
    expect(deadlineAfter(undefined)).toBe(Number.POSITIVE_INFINITY);
    expect(deadlineAfter(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    expect(waitTimeout({ timeout: -5 })).toBe(0);
    expect(waitTimeout({ timeout: 2 ** 40 })).toBe(2 ** 40);
    expect(waitTimeout(undefined)).toBeUndefined();
  });

  it('acquireDeadline: blocking false is a try (undefined); a timeout with it is refused unless negative', () => {
    expect(acquireDeadline(undefined)).toBe(Number.POSITIVE_INFINITY);
    expect(acquireDeadline({ blocking: false })).toBeUndefined();
    expect(acquireDeadline({ blocking: false, timeout: -1 })).toBeUndefined();
    expect(() => acquireDeadline({ blocking: false, timeout: 0 })).toThrow(bad);
    expect(() => acquireDeadline({ blocking: 'no' as unknown as boolean })).toThrow(bad);
  });

  it('readOptions reads each field once; unreadable objects are ERR_INVALID_ARG, not raw errors', () => {
    let reads = 0;
    const counted = {
      get timeout() {
        reads += 1;
        return 5;
      },
    };
    expect(readOptions('options', counted, ['timeout'])).toEqual({ timeout: 5 });
    expect(reads).toBe(1);
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    expect(() => readOptions('options', revoked.proxy, ['timeout'])).toThrow(bad);
    const throwing = {
      get timeout(): number {
        throw new Error('nope');
      },
    };
    expect(() => readOptions('options', throwing, ['timeout'])).toThrow('cannot be read (nope)');
    expect(() => readOptions('options', [], ['timeout'])).toThrow(bad);
    expect(() => readOptions('options', 'x', ['timeout'])).toThrow(bad);
    expect(readOptions('options', undefined, ['timeout'])).toEqual({});
  });
});
