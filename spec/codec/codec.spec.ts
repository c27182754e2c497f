import { MessageChannel } from 'node:worker_threads';
import { decode, encode, registerSharedType, transfer } from '../../lib/codec/codec';
import { UncloneableError } from '../../lib/errors';

/** A toy shared type: a counter over a SharedArrayBuffer, with private state. */
class Counter {
  readonly #cells: Int32Array;
  constructor(buffer = new SharedArrayBuffer(4)) {
    this.#cells = new Int32Array(buffer);
  }
  get buffer(): SharedArrayBuffer {
    return this.#cells.buffer as SharedArrayBuffer;
  }
  increment(): number {
    return Atomics.add(this.#cells, 0, 1) + 1;
  }
}
registerSharedType(Counter, 'spec.Counter', {
  encode: (counter) => ({ buffer: counter.buffer }),
  decode: (data: { buffer: SharedArrayBuffer }) => new Counter(data.buffer),
});

/** Sends a value through a real MessagePort, as a worker would receive it. */
async function roundTrip<T>(value: T): Promise<T> {
  const encoded = encode(value, 'value');
  const { port1, port2 } = new MessageChannel();
  const received = new Promise<T>((resolve) => port2.once('message', resolve));
  port1.postMessage(encoded.value, encoded.transferList as never);
  const message = await received;
  port1.close();
  port2.close();
  return encoded.shared ? decode(message) : message;
}

describe('codec', () => {
  it('passes plain values through untouched, without copying', () => {
    const value = { a: [1, 2, { b: 'c' }], d: new Map([[1, 2]]), e: new Set([3]), f: 10n, g: new Date(0) };
    const encoded = encode(value);
    expect(encoded.value).toBe(value);
    expect(encoded.shared).toBe(false);
    expect(encoded.transferList).toBeUndefined();
    expect(encode(42).value).toBe(42);
  });

  it('revives a registered shared object at any depth as a working object over the same memory', async () => {
    const counter = new Counter();
    counter.increment();
    const original = { list: [1, { deep: counter }], map: new Map([['k', counter]]), set: new Set([counter]) };
    const encoded = encode(original);
    expect(encoded.shared).toBe(true);
    // The caller's value is never modified.
    expect(original.list[1]).toEqual({ deep: counter });
    const received = await roundTrip(original);
    const deep = (received.list[1] as { deep: Counter }).deep;
    expect(deep).toBeInstanceOf(Counter);
    expect(deep.increment()).toBe(2);
    expect(counter.increment()).toBe(3);
    // The same object twice arrives as one object.
    expect(received.map.get('k')).toBe(deep);
    expect([...received.set][0]).toBe(deep);
  });

  it('handles cycles, also cycles through shared objects', async () => {
    const plain: Record<string, unknown> = { name: 'root' };
    plain.self = plain;
    const back = await roundTrip(plain);
    expect(back.self).toBe(back);

    const counter = new Counter();
    const cyclic: Record<string, unknown> = { counter };
    cyclic.again = { parent: cyclic, counter };
    const received = await roundTrip(cyclic);
    expect(received.counter).toBeInstanceOf(Counter);
    const again = received.again as { parent: unknown; counter: Counter };
    expect(again.parent).toBe(received);
    expect(again.counter).toBe(received.counter);
  });

  it('names the path of what cannot be cloned', () => {
    const cases: Array<[unknown, string]> = [
      [[1, { cb: () => 1 }], 'args[1].cb is a function'],
      [[Symbol('x')], 'args[0] is a symbol'],
      [[{ m: new Map([['key', { fn() {} }]]) }], 'args[0].m.get("key").fn is a function'],
      [[new WeakMap()], 'args[0] is a WeakMap'],
      [[{ p: Promise.resolve(1) }], 'args[0].p is a Promise'],
      [[{ 'odd key': [() => 0] }], 'args[0]["odd key"][0] is a function'],
    ];
    for (const [value, message] of cases) {
      expect(() => encode(value, 'args')).toThrow(UncloneableError);
      expect(() => encode(value, 'args')).toThrow(message);
    }
  });

  it('moves buffers marked with transfer(), copies the rest', async () => {
    const moved = new Uint8Array([1, 2, 3]);
    const kept = new Uint8Array([4, 5]);
    const encoded = encode({ moved: transfer(moved), kept });
    expect(encoded.transferList).toEqual([moved.buffer]);
    const received = await roundTrip({ moved: transfer(new Float64Array([1.5])), kept });
    expect(received.moved[0]).toBe(1.5);
    expect(kept.byteLength).toBe(2);
    const buffer = new ArrayBuffer(8);
    await roundTrip([transfer(buffer)]);
    expect(buffer.byteLength).toBe(0);
    expect(() => transfer('text' as never)).toThrow(UncloneableError);
  });

  it('moves MessagePorts without being asked (they can only move)', async () => {
    const { port1, port2 } = new MessageChannel();
    const encoded = encode({ port: port1 });
    expect(encoded.transferList).toEqual([port1]);
    port1.close();
    port2.close();
  });

  it('reports an unregistered tag on decode with ERR_INVALID_STATE', () => {
    expect(() => decode({ __parapool_shared__: 'spec.Unknown', data: {} })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
  });
});
