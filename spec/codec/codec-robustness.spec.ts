import { MessageChannel } from 'node:worker_threads';
import { DESCRIPTOR_KEY, decode, encode, registerSharedType } from '../../lib/codec/codec';
import { isParapoolError, UncloneableError } from '../../lib/errors';

/** A toy shared type over a SharedArrayBuffer, with private state. */
class Cell {
  readonly #cells: Int32Array;
  constructor(buffer = new SharedArrayBuffer(4)) {
    this.#cells = new Int32Array(buffer);
  }
  get buffer(): SharedArrayBuffer {
    return this.#cells.buffer as SharedArrayBuffer;
  }
  add(n: number): number {
    return Atomics.add(this.#cells, 0, n) + n;
  }
}
registerSharedType(Cell, 'spec.Cell', {
  encode: (cell) => ({ buffer: cell.buffer }),
  decode: (data: { buffer: SharedArrayBuffer }) => new Cell(data.buffer),
});

/** A shared type whose encoder and decoder fail, as a buggy or hostile one would. */
class Broken {
  constructor(readonly failOn: 'encode' | 'decode') {}
}
registerSharedType(Broken, 'spec.Broken', {
  encode: (broken) => {
    if (broken.failOn === 'encode') throw new TypeError('encoder bug');
    return { failOn: broken.failOn };
  },
  decode: () => {
    throw new TypeError('decoder bug');
  },
});

/** Through a real MessagePort, as another thread receives it. */
async function post<T>(value: T): Promise<T> {
  const { port1, port2 } = new MessageChannel();
  const received = new Promise<T>((resolve) => port2.once('message', resolve));
  port1.postMessage(value);
  const message = await received;
  port1.close();
  port2.close();
  return message;
}

async function roundTrip<T>(value: T): Promise<T> {
  const encoded = encode(value, 'value');
  const message = await post(encoded.value);
  return encoded.shared ? decode(message) : message;
}

/**
 * A realm-independent picture of a value: own keys in order, holes, -0, Map and Set order,
 * plain vs prototype-less, Cells (as 'CELL'), identity (as #n).
 */
function shape(root: unknown): unknown {
  const ids = new Map<object, number>();
  const visit = (value: unknown): unknown => {
    if (value instanceof Cell) return 'CELL';
    if (typeof value === 'number') return Object.is(value, -0) ? '-0' : Number.isNaN(value) ? 'NaN' : value;
    if (typeof value === 'bigint') return `${value}n`;
    if (value === undefined) return '<undefined>';
    if (typeof value !== 'object' || value === null) return value;
    const id = ids.get(value);
    if (id !== undefined) return `#${id}`;
    ids.set(value, ids.size);
    const tag = Object.prototype.toString.call(value);
    if (Array.isArray(value)) {
      const items = Array.from({ length: value.length }, (_, i) => (i in value ? visit(value[i]) : '<hole>'));
      const named = Object.keys(value)
        .filter((key) => String(Number(key) >>> 0) !== key)
        .map((key) => [key, visit((value as unknown as Record<string, unknown>)[key])]);
      return { array: items, named };
    }
    if (value instanceof Map || tag === '[object Map]')
      return { map: [...(value as Map<unknown, unknown>)].map(([k, v]) => [visit(k), visit(v)]) };
    if (value instanceof Set || tag === '[object Set]') return { set: [...(value as Set<unknown>)].map(visit) };
    if (tag !== '[object Object]') return { [tag]: String(value) };
    const proto = Object.getPrototypeOf(value);
    return {
      proto: proto === null ? 'null' : Object.getPrototypeOf(proto) === null ? 'Object' : 'other',
      keys: Object.keys(value).map((key) => [key, visit((value as Record<string, unknown>)[key])]),
    };
  };
  return visit(root);
}

const nested = (depth: number, asObject: boolean): unknown => {
  const root: Record<string, unknown> | unknown[] = asObject ? {} : [];
  let current = root;
  for (let i = 0; i < depth; i++) {
    const child: Record<string, unknown> | unknown[] = asObject ? {} : [];
    if (asObject) (current as Record<string, unknown>).next = child;
    else (current as unknown[]).push(child);
    current = child;
  }
  return root;
};

describe('codec: user data never collides with descriptors', () => {
  // Each value holds the reserved key somewhere; `cell` is a shared object beside it, or absent.
  const cases: Array<[string, (cell: unknown) => unknown]> = [
    ['a plain object with the key and a tag', (cell) => ({ forged: { [DESCRIPTOR_KEY]: 'spec.Cell', data: {} }, cell })],
    ['a forged escape', (cell) => [{ [DESCRIPTOR_KEY]: 'parapool.codec.escaped', data: [['x', 1]] }, cell]],
    ['the key with an unknown tag', (cell) => ({ cell, forged: { [DESCRIPTOR_KEY]: 'spec.Unknown', data: { buffer: 1 } } })],
    ['the key with a non-string value', (cell) => ({ cell, forged: { [DESCRIPTOR_KEY]: 42, other: [1, 2] } })],
    [
      'the key in a Map value and a Set item',
      (cell) =>
        new Map<unknown, unknown>([
          ['k', { [DESCRIPTOR_KEY]: 'x' }],
          ['s', new Set([{ [DESCRIPTOR_KEY]: 'y' }, cell])],
        ]),
    ],
    [
      'the key on a class instance',
      (cell) => [
        new (class Tagged {
          [DESCRIPTOR_KEY] = 'spec.Cell';
          data = cell;
        })(),
      ],
    ],
    [
      'the key as an enumerable getter',
      (cell) => ({ cell, forged: Object.defineProperty({}, DESCRIPTOR_KEY, { get: () => 'spec.Cell', enumerable: true }) }),
    ],
    [
      'a prototype-less object with the key',
      (cell) => ({ cell, forged: Object.assign(Object.create(null), { [DESCRIPTOR_KEY]: 'spec.Cell', data: cell }) }),
    ],
    [
      'the key next to an own __proto__ key',
      (cell) => ({ cell, forged: JSON.parse(`{"__proto__": {"x": 1}, "${DESCRIPTOR_KEY}": "spec.Cell"}`) }),
    ],
    [
      'a cycle through an object with the key',
      (cell) => {
        const forged: Record<string, unknown> = { [DESCRIPTOR_KEY]: 'spec.Cell', cell };
        forged.self = forged;
        return { forged, again: forged };
      },
    ],
  ];

  it.each(cases)('%s comes out as structured clone gives it, with or without a shared object beside it', async (_name, make) => {
    for (const cell of [new Cell(), undefined]) {
      const expected = shape(structuredClone(make(cell === undefined ? undefined : 'CELL')));
      const encoded = encode(make(cell));
      expect(encoded.shared).toBe(true);
      expect(shape(await roundTrip(make(cell)))).toEqual(expected);
    }
  });

  it('revives the shared object beside a forged descriptor as the working object', async () => {
    const cell = new Cell();
    const back = await roundTrip({ forged: { [DESCRIPTOR_KEY]: 'spec.Cell', data: { buffer: 'not memory' } }, cell });
    expect(back.cell).toBeInstanceOf(Cell);
    expect(back.cell.add(2)).toBe(2);
    expect(cell.add(1)).toBe(3);
    expect(back.forged).toEqual({ [DESCRIPTOR_KEY]: 'spec.Cell', data: { buffer: 'not memory' } });
  });

  it('leaves a value without the key or shared objects as it is (same object, nothing to decode)', () => {
    const values = [
      [1, 2, 3],
      { a: { b: [1, 'x'] } },
      new Map([[1, { a: 1 }]]),
      Object.create(null),
      new (class Point {
        x = 1;
      })(),
    ];
    for (const value of values) {
      const encoded = encode(value);
      expect(encoded.value).toBe(value);
      expect(encoded.shared).toBe(false);
    }
  });
});

describe('codec: decoding what a crashed or hostile thread sent', () => {
  // Each stays plain data, is revived, or fails with a parapool error of that code; nothing else is thrown.
  const cases: Array<[string, unknown, string]> = [
    ['a non-string tag', { [DESCRIPTOR_KEY]: 7, data: {} }, 'plain'],
    ['an escape without entries', { [DESCRIPTOR_KEY]: 'parapool.codec.escaped', data: 'x' }, 'plain'],
    ['an escape with malformed entries', { [DESCRIPTOR_KEY]: 'parapool.codec.escaped', data: [1, [2, 3], null] }, 'escaped'],
    ['an unknown tag', { [DESCRIPTOR_KEY]: 'spec.Unknown', data: {} }, 'ERR_INVALID_STATE'],
    ['an unknown tag deep inside', { a: [new Map([['k', { [DESCRIPTOR_KEY]: 'spec.Unknown' }]])] }, 'ERR_INVALID_STATE'],
    ['a decoder that throws a TypeError', { [DESCRIPTOR_KEY]: 'spec.Broken', data: {} }, 'ERR_INVALID_STATE'],
    [
      'a descriptor whose data is itself',
      (() => {
        const d: Record<string, unknown> = { [DESCRIPTOR_KEY]: 'spec.Cell' };
        d.data = { buffer: d };
        return d;
      })(),
      'revived or refused',
    ],
    [
      'a revoked Proxy',
      (() => {
        const { proxy, revoke } = Proxy.revocable({}, {});
        revoke();
        return { inner: proxy };
      })(),
      'ERR_INVALID_STATE',
    ],
    ['a 100,000-deep value', nested(100_000, false), 'ERR_INVALID_STATE'],
  ];

  it.each(cases)('%s', (_name, value, outcome) => {
    let result: unknown;
    let thrown: unknown;
    try {
      result = decode(value);
    } catch (error) {
      thrown = error;
    }
    if (outcome === 'revived or refused') {
      expect(thrown === undefined || isParapoolError(thrown)).toBe(true);
    } else if (outcome === 'plain') {
      expect(thrown).toBeUndefined();
      expect(result).toBe(value);
    } else if (outcome === 'escaped') {
      expect(thrown).toBeUndefined();
      expect(result).toEqual({});
    } else {
      expect(isParapoolError(thrown)).toBe(true);
      expect((thrown as { code: string }).code).toBe(outcome);
    }
  });
});

describe('codec: what structured clone refuses is ERR_UNCLONEABLE with its path, and nothing else is thrown', () => {
  const revoked = (): object => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return proxy;
  };
  const throwing = (thrown: unknown): object =>
    Object.defineProperty({}, 'bad', {
      enumerable: true,
      get() {
        throw thrown;
      },
    });
  const cases: Array<[string, unknown, string]> = [
    ['a Proxy', [new Proxy({}, {})], 'args[0] is a Proxy'],
    ['a revoked Proxy', [{ p: revoked() }], 'args[0].p is a Proxy'],
    ['a Proxy of an array', [[1, new Proxy([1, 2], {})]], 'args[0][1] is a Proxy'],
    ['a Proxy of a function', [new Proxy(() => 1, {})], 'args[0] is a Proxy'],
    [
      'a Proxy whose ownKeys trap throws',
      [
        new Proxy(
          {},
          {
            ownKeys: () => {
              throw new Error('keys');
            },
          },
        ),
      ],
      'args[0] is a Proxy',
    ],
    ['a Proxy as a Map key', [new Map([[new Proxy({}, {}), 1]])], 'args[0].<key a Proxy> is a Proxy'],
    ['a Proxy in a Set', [new Set([1, new Proxy({}, {})])], 'args[0].<item 1> is a Proxy'],
    ['a throwing getter', [throwing(new Error('boom'))], 'args[0].bad could not be read: reading it threw Error: boom'],
    ['a getter that throws a Symbol', [throwing(Symbol('sym'))], 'args[0].bad could not be read: reading it threw Symbol(sym)'],
    ['a getter that throws a revoked Proxy', [throwing(revoked())], 'args[0].bad could not be read: reading it threw a Proxy'],
    [
      'a throwing getter on a class instance',
      [
        Object.defineProperty(new (class Box {})(), 'x', {
          enumerable: true,
          get: () => {
            throw new RangeError('r');
          },
        }),
      ],
      'args[0].x could not be read',
    ],
    [
      'a throwing getter beside a shared object',
      [{ cell: new Cell(), deep: [throwing('str')] }],
      'args[0].deep[0].bad could not be read: reading it threw "str"',
    ],
    [
      'a Proxy beside a shared object, in a cycle',
      (() => {
        const o: Record<string, unknown> = { cell: new Cell() };
        o.self = o;
        o.p = new Proxy({}, {});
        return [o];
      })(),
      'args[0].p is a Proxy',
    ],
    ['a function in a Map value', [new Map([['key', { fn() {} }]])], 'args[0].get("key").fn is a function'],
    ['a symbol', [Symbol('x')], 'args[0] is a symbol'],
    ['a WeakMap', [new WeakMap()], 'args[0] is a WeakMap'],
    ['a Promise', [{ p: Promise.resolve(1) }], 'args[0].p is a Promise'],
    ['a generator', [(function* () {})()], 'args[0] is a generator'],
    [
      'a shared object whose encoder throws',
      [new Broken('encode')],
      'args[0] is a spec.Broken that cannot be sent: TypeError: encoder bug',
    ],
    ['a 100,000-deep array', nested(100_000, false), 'is nested too deeply'],
    ['a 100,000-deep object', nested(100_000, true), 'is nested too deeply'],
  ];

  it.each(cases)('%s', (name, value, message) => {
    let thrown: unknown;
    try {
      encode(value, 'args');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UncloneableError);
    expect((thrown as Error).message).toContain(message);
    // Only what structured clone refuses too (a shared type's failing encoder aside).
    let cloneFailed = false;
    try {
      structuredClone(value);
    } catch {
      cloneFailed = true;
    }
    expect(cloneFailed || name.includes('encoder')).toBe(true);
  });

  // Structured clone does not refuse these: it turns them into `{}`, which is worse.
  it.each<[string, unknown[], string]>([
    ['a URL', [{ at: new URL('https://example.com/') }], 'args[0].at is a URL, which would arrive as an empty object'],
    ['an AbortSignal', [new AbortController().signal], 'args[0] is an AbortSignal'],
    ['Headers in a Map', [new Map([['h', new Headers()]])], 'args[0].get("h") is a Headers'],
  ])('refuses %s, a platform object that structured clone would empty', (_name, value, message) => {
    expect(structuredClone(value)).toBeDefined();
    expect(() => encode(value, 'args')).toThrow(UncloneableError);
    expect(() => encode(value, 'args')).toThrow(message);
  });

  it('shortens the path of a value nested too deeply', () => {
    expect(() => encode(nested(100_000, false), 'args')).toThrow(/^args(\[0\]){12}…\(\d+ more\)…(\[0\]){12} is nested too deeply/);
  });

  it('lets a shared type refuse with its own parapool error', () => {
    class Refusing {}
    registerSharedType(Refusing, 'spec.Refusing', {
      encode: () => {
        throw new UncloneableError('a Refusing stays home');
      },
      decode: () => new Refusing(),
    });
    expect(() => encode({ r: new Refusing() })).toThrow('a Refusing stays home');
  });
});

describe('codec: structured-clone fidelity where the encoder copies containers', () => {
  // `cell` is a shared object (so the containers around it are copied) or, for the expected side, the string 'CELL'.
  const cases: Array<[string, (cell: unknown) => unknown]> = [
    ['named properties of an array', (cell) => Object.assign([cell, 1], { label: 'x', nested: { n: 1 } })],
    [
      'holes in a sparse array, trailing ones too',
      (cell) => {
        const sparse: unknown[] = [cell];
        sparse[3] = 3;
        sparse.length = 6;
        return sparse;
      },
    ],
    [
      'a hole before the shared object',
      (cell) => {
        const sparse: unknown[] = [1];
        sparse[2] = cell;
        return sparse;
      },
    ],
    [
      'Map order',
      (cell) =>
        new Map<unknown, unknown>([
          ['b', 1],
          ['a', cell],
          ['c', 3],
          [0, 'zero'],
        ]),
    ],
    [
      'a shared object as a Map key',
      (cell) =>
        new Map<unknown, unknown>([
          [1, 'one'],
          [cell, 'cell'],
          [2, 'two'],
        ]),
    ],
    ['Set order', (cell) => new Set([3, 'x', cell, 1])],
    [
      '-0 in objects, arrays, Maps and Sets',
      (cell) => ({ z: -0, cell, list: [-0, cell, 0], map: new Map([['z', -0]]), set: new Set([-0, cell]) }),
    ],
    ['a prototype-less object', (cell) => Object.assign(Object.create(null), { b: 1, cell, a: 2 })],
    ['integer-like keys and their order', (cell) => ({ b: 1, 2: 'two', 1: cell, a: 3 })],
    ['an own __proto__ key', (cell) => Object.assign(JSON.parse('{"__proto__": {"x": 1}, "a": 1}'), { cell })],
    [
      'a class instance',
      (cell) => [
        new (class Point {
          x = 1;
          y = [2];
          c = cell;
        })(),
      ],
    ],
    ['an empty class instance', (cell) => [new (class Empty {})(), cell]],
    [
      'a cycle and shared references',
      (cell) => {
        const shared = { s: 1 };
        const root: Record<string, unknown> = { cell, a: shared, b: [shared, cell] };
        root.self = root;
        return root;
      },
    ],
    [
      'built-ins beside it',
      (cell) => ({ cell, date: new Date(0), re: /x/g, bytes: new Uint8Array([1, 2]), big: 10n, boxed: Object(1), nan: NaN }),
    ],
    ['nested containers', (cell) => ({ a: [new Map([['m', new Set([{ deep: [cell] }])]])] })],
  ];

  it.each(cases)('%s', async (_name, make) => {
    const expected = shape(structuredClone(make('CELL')));
    const encoded = encode(make(new Cell()));
    expect(encoded.shared).toBe(true);
    expect(shape(await roundTrip(make(new Cell())))).toEqual(expected);
  });
});

describe('codec: paths of a slice count from the whole input', () => {
  it('adds indexOffset to the first index only', () => {
    expect(() => encode([1, { cb: () => 1 }], 'items', 40)).toThrow('items[41].cb is a function');
    expect(() => encode([[0, () => 1]], 'items', 40)).toThrow('items[40][1] is a function');
    expect(() => encode({ a: [() => 1] }, 'value', 40)).toThrow('value.a[0] is a function');
  });
});

describe('descriptors made by their type owner (sharedDescriptor)', () => {
  it('a made descriptor is sent as a descriptor; the same shape as user data is escaped', () => {
    const { encode, sharedDescriptor, DESCRIPTOR_KEY } = require('../../lib/codec/codec') as typeof import('../../lib/codec/codec');
    const made = encode({ proxy: sharedDescriptor('parapool.Lock', { id: 7 }) }, 'result');
    expect(made.shared).toBe(true);
    expect((made.value as unknown as { proxy: Record<string, unknown> }).proxy[DESCRIPTOR_KEY]).toBe('parapool.Lock');
    const forged = encode({ proxy: { [DESCRIPTOR_KEY]: 'parapool.Lock', data: { id: 7 } } }, 'result');
    expect((forged.value as { proxy: Record<string, unknown> }).proxy[DESCRIPTOR_KEY]).toBe('parapool.codec.escaped');
  });
});
