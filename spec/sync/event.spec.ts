import { decode, encode } from '../../lib/codec/codec';
import { Event } from '../../lib/sync/event';
import { Lock } from '../../lib/sync/lock';
import { exited, startTsWorker } from '../helpers/worker';
import { callInWorker } from './call-in-worker';

const invalidArg = expect.objectContaining({ code: 'ERR_INVALID_ARG' });

describe('Event', () => {
  it('set, clear, isSet and waits with timeouts (CPython _TestEvent.test_event)', async () => {
    const event = new Event();
    expect(event.isSet()).toBe(false);
    expect(event.waitSync({ timeout: 0 })).toBe(false);
    expect(event.waitSync({ timeout: 20 })).toBe(false);
    expect(await event.wait({ timeout: 0 })).toBe(false);
    expect(await event.wait({ timeout: 20 })).toBe(false);
    event.set();
    expect(event.isSet()).toBe(true);
    expect(event.waitSync()).toBe(true);
    expect(await event.wait()).toBe(true);
    expect(await event.wait({ timeout: 0 })).toBe(true);
    event.set();
    expect(event.isSet()).toBe(true);
    event.clear();
    expect(event.isSet()).toBe(false);
    expect(await event.wait({ timeout: 5 })).toBe(false);
  });

  it('wakes an async waiter on the main thread when a worker sets it, 50 times', async () => {
    const event = new Event();
    const ready = new Event();
    const rounds = 50;
    const worker = startTsWorker(`${__dirname}/../fixtures/sync-event-setter.ts`, encode({ event, ready, rounds }).value);
    try {
      const done = new Promise((resolve) => worker.once('message', resolve));
      for (let round = 0; round < rounds; round++) {
        event.clear();
        const waiting = event.wait();
        ready.set();
        expect(await waiting).toBe(true);
      }
      expect(await done).toBe(rounds);
      expect(await exited(worker)).toBe(0);
    } finally {
      await worker.terminate();
    }
  });

  it('one set() releases waiters in several workers at once', async () => {
    const event = new Event();
    const waiters = [1, 2, 3].map(() => callInWorker(event, 'waitSync', [{ timeout: 60_000 }]));
    const late = callInWorker(event, 'wait', [{ timeout: 60_000 }], { awaitResult: true });
    await new Promise((resolve) => setTimeout(resolve, 50));
    event.set();
    const outcomes = await Promise.all([...waiters, late]);
    expect(outcomes.map((outcome) => outcome.value)).toEqual([true, true, true, true]);
  });

  it('a worker wait times out with false', async () => {
    const event = new Event();
    expect((await callInWorker(event, 'waitSync', [{ timeout: 10 }])).value).toBe(false);
    expect((await callInWorker(event, 'wait', [{ timeout: 10 }], { awaitResult: true })).value).toBe(false);
  });

  it('validates its arguments (ERR_INVALID_ARG)', async () => {
    const event = new Event();
    expect(() => event.waitSync({ timeout: NaN })).toThrow(invalidArg);
    expect(() => event.waitSync(3 as unknown as object)).toThrow(invalidArg);
    await expect(event.wait({ timeout: 'soon' as unknown as number })).rejects.toEqual(invalidArg);
    event.set();
    // Still validated when the flag is already set.
    expect(() => event.waitSync({ timeout: NaN })).toThrow(invalidArg);
  });

  it('lives at a byte offset, checks the tag, crosses the codec', () => {
    const buffer = new SharedArrayBuffer(32);
    const event = new Event({ buffer, byteOffset: 24 });
    const same = Event.attach(buffer, 24);
    const revived = decode(structuredClone(encode({ event }).value)).event;
    expect(revived).toBeInstanceOf(Event);
    revived.set();
    expect(event.isSet()).toBe(true);
    expect(same.isSet()).toBe(true);
    expect(() => Event.attach(buffer, 0)).toThrow(invalidArg);
    expect(() => Event.attach(new Lock().buffer)).toThrow(invalidArg);
    expect(() => new Event({ buffer, byteOffset: 28 })).toThrow(invalidArg);
    expect(Event.SIZE).toBe(8);
  });
});

describe('Event: arguments and timeouts as API.md §8 says', () => {
  it('junk arguments: wait rejects, waitSync and the constructor throw (ERR_INVALID_ARG)', async () => {
    const bad = expect.objectContaining({ code: 'ERR_INVALID_ARG' });
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const event = new Event();
    for (const junk of ['x', 5, revoked.proxy, { timeout: 'x' }, { timeout: NaN }, { timeout: revoked.proxy }, []]) {
      await expect(event.wait(junk as object)).rejects.toEqual(bad);
      expect(() => event.waitSync(junk as object)).toThrow(bad);
    }
    for (const junk of ['x', revoked.proxy, { buffer: 5 }]) expect(() => new Event(junk as object)).toThrow(bad);
    expect(() => Event.attach(revoked.proxy as SharedArrayBuffer)).toThrow(bad);
  });

  it('negative timeouts do not wait; a timeout past 2^31 ms is honoured', async () => {
    const event = new Event();
    expect(event.waitSync({ timeout: -1 })).toBe(false);
    expect(await event.wait({ timeout: -1 })).toBe(false);
    const long = event.wait({ timeout: 2 ** 31 + 10 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    event.set();
    expect(await long).toBe(true);
  });
});
