import { MessageChannel } from 'node:worker_threads';
import { decodeError, encodeError } from '../../lib/codec/error-codec';
import { EOFError, ParapoolError, QueueEmptyError, UncloneableError, WorkerExitedError, errorClassesByCode } from '../../lib/errors';

async function acrossThreads(thrown: unknown): Promise<unknown> {
  const { error, shared } = encodeError(thrown);
  const { port1, port2 } = new MessageChannel();
  const received = new Promise((resolve) => port2.once('message', resolve));
  port1.postMessage(error);
  const message = await received;
  port1.close();
  port2.close();
  return decodeError(message as never, shared);
}

describe('errors across threads', () => {
  it('keeps built-in classes, message, stack, code and own properties', async () => {
    for (const Ctor of [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError]) {
      const original = Object.assign(new Ctor('broken'), { code: 'E_CODE', errno: -2, details: { path: '/x', list: [1n] } });
      const back = (await acrossThreads(original)) as Error & Record<string, unknown>;
      expect(back).toBeInstanceOf(Ctor);
      expect(back.constructor).toBe(Ctor);
      expect(back.message).toBe('broken');
      expect(back.stack).toBe(original.stack);
      expect(back).toMatchObject({ code: 'E_CODE', errno: -2, details: { path: '/x', list: [1n] } });
    }
  });

  it('keeps custom names, causes and aggregate errors', async () => {
    class DomainError extends Error {
      override name = 'DomainError';
    }
    const back = (await acrossThreads(new DomainError('outer', { cause: new RangeError('inner') }))) as Error;
    expect(back.name).toBe('DomainError');
    expect(back).toBeInstanceOf(Error);
    expect(back.cause).toBeInstanceOf(RangeError);
    expect((back.cause as Error).message).toBe('inner');
    const aggregate = (await acrossThreads(new AggregateError([new TypeError('a'), 'b'], 'many'))) as AggregateError;
    expect(aggregate).toBeInstanceOf(AggregateError);
    expect(aggregate.errors[0]).toBeInstanceOf(TypeError);
    expect(aggregate.errors[1]).toBe('b');
  });

  it('rebuilds parapool errors as their own classes, with their codes', async () => {
    const back = await acrossThreads(new QueueEmptyError('nothing'));
    expect(back).toBeInstanceOf(QueueEmptyError);
    expect(back).toBeInstanceOf(ParapoolError);
    expect(back).toMatchObject({ code: 'ERR_QUEUE_EMPTY', message: 'nothing' });
    const exited = await acrossThreads(new WorkerExitedError('gone', { exitCode: 7 }));
    expect(exited).toMatchObject({ code: 'ERR_WORKER_EXITED', exitCode: 7 });
    expect(await acrossThreads(new EOFError('eof'))).toBeInstanceOf(EOFError);
  });

  it('passes thrown non-errors through as values', async () => {
    expect(await acrossThreads('a string')).toBe('a string');
    expect(await acrossThreads({ plain: true })).toEqual({ plain: true });
    expect(await acrossThreads(undefined)).toBeUndefined();
  });

  it('replaces uncloneable properties instead of losing the error', async () => {
    const original = Object.assign(new Error('has a callback'), { retry: () => 1 });
    const back = (await acrossThreads(original)) as Error & { retry: unknown };
    expect(back.message).toBe('has a callback');
    expect(back.retry).toBe('[uncloneable function]');
  });
});

describe('error classes', () => {
  it('have a stable name and code each, and instanceof works by code', () => {
    for (const [code, Class] of errorClassesByCode) {
      const error = new (Class as unknown as new (message: string) => ParapoolError)('x');
      expect(error.code).toBe(code);
      expect(error.name).toBe(Class.name);
      expect(error).toBeInstanceOf(Class);
      expect(error).toBeInstanceOf(ParapoolError);
      expect(error).toBeInstanceOf(Error);
      for (const [otherCode, Other] of errorClassesByCode) if (otherCode !== code) expect(error).not.toBeInstanceOf(Other);
    }
    expect(new Error('plain')).not.toBeInstanceOf(ParapoolError);
  });
});

describe('errors across threads: whatever is thrown, the caller learns what it was', () => {
  const revoked = (): object => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return proxy;
  };
  const withGetter = <T extends object>(target: T, key: string, get: () => unknown): T =>
    Object.defineProperty(target, key, { get, enumerable: true, configurable: true });
  const thrower = (value: unknown) => () => {
    throw value;
  };
  const cyclic = (): Error => {
    const error = new Error('loop');
    (error as { cause?: unknown }).cause = error;
    return error;
  };
  const mutual = (): Error => {
    const a = new Error('a');
    a.cause = new Error('b', { cause: a });
    return a;
  };

  // [name, thrown, what the caller's error must look like]
  // Four entries each: jest takes a fourth parameter of the test function that a row lacks for `done`.
  const cases: Array<[string, () => unknown, Record<string, unknown>, abstract new (...args: never[]) => unknown]> = [
    [
      'a throwing getter on message',
      () => withGetter(new TypeError('x'), 'message', thrower(new Error('no'))),
      { message: expect.stringContaining('could not be read') },
      TypeError,
    ],
    [
      'a getter on message that throws a Symbol',
      () => withGetter(new Error('x'), 'message', thrower(Symbol('m'))),
      { message: expect.stringContaining('Symbol(m)') },
      Error,
    ],
    [
      'a throwing getter on name',
      () => withGetter(new RangeError('kept'), 'name', thrower(new Error('no'))),
      { name: 'RangeError', message: 'kept' },
      RangeError,
    ],
    ['a Symbol name', () => Object.assign(new Error('kept'), { name: Symbol('n') }), { name: 'Symbol(n)', message: 'kept' }, Error],
    ['a throwing getter on stack', () => withGetter(new Error('kept'), 'stack', thrower(new Error('no'))), { message: 'kept' }, Error],
    ['a throwing getter on cause', () => withGetter(new Error('kept'), 'cause', thrower(new Error('no'))), { message: 'kept' }, Error],
    [
      'a throwing getter on code of a parapool error',
      () => withGetter(new QueueEmptyError('kept'), 'message', thrower(1)),
      { code: 'ERR_QUEUE_EMPTY' },
      QueueEmptyError,
    ],
    [
      'a revoked Proxy',
      revoked,
      { code: 'ERR_UNCLONEABLE', message: 'A task threw a Proxy: it cannot be sent to another thread' },
      UncloneableError,
    ],
    [
      'a Proxy of an Error',
      () => new Proxy(new Error('p'), {}),
      { code: 'ERR_UNCLONEABLE', message: expect.stringContaining('a Proxy') },
      UncloneableError,
    ],
    [
      'an Error subclass with hostile own properties',
      () => {
        class Hostile extends Error {
          proxy = revoked();
          fn = () => 1;
          override name = 'Hostile';
        }
        return withGetter(new Hostile('kept'), 'secret', thrower(new Error('no')));
      },
      { name: 'Hostile', message: 'kept', proxy: '[uncloneable object]', fn: '[uncloneable function]' },
      Error,
    ],
    [
      'an own property with the codec key',
      () => Object.assign(new Error('kept'), { __parapool_shared__: 'spec.X', data: 1 }),
      { __parapool_shared__: 'spec.X', data: 1 },
      Error,
    ],
    [
      'a frozen Error',
      () => Object.freeze(Object.assign(new TypeError('frozen'), { code: 'E_F' })),
      { message: 'frozen', code: 'E_F' },
      TypeError,
    ],
    ['a cycle in cause', cyclic, { message: 'loop' }, Error],
    ['two errors causing each other', mutual, { message: 'a', cause: expect.objectContaining({ message: 'b' }) }, Error],
    [
      'an Error whose prototype chain holds a Proxy',
      () => Object.setPrototypeOf(new Error('p'), new Proxy(Error.prototype, { get: thrower(new Error('trap')) })),
      {},
      Error,
    ],
    [
      'a thrown Symbol',
      () => Symbol('boom'),
      { code: 'ERR_UNCLONEABLE', message: expect.stringContaining('Symbol(boom)') },
      UncloneableError,
    ],
    [
      'a thrown function',
      () => function named() {},
      { code: 'ERR_UNCLONEABLE', message: expect.stringContaining('a function') },
      UncloneableError,
    ],
    [
      'a thrown object with a throwing getter',
      () => withGetter({}, 'x', thrower(new Error('no'))),
      { code: 'ERR_UNCLONEABLE', message: expect.stringContaining('error.x could not be read') },
      UncloneableError,
    ],
  ];

  it.each(cases)('%s', async (_name, make, expected, Class) => {
    const back = await acrossThreads(make());
    expect(back).toBeInstanceOf(Error);
    expect(back).toMatchObject(expected);
    expect(back).toBeInstanceOf(Class);
  });

  it.each([
    ['a throwing getter on message', () => withGetter(new Error('x'), 'message', thrower(new Error('no')))],
    ['a Symbol name', () => Object.assign(new Error('kept'), { name: Symbol('n') })],
  ])('keeps the stack frames of an error whose stack cannot be formatted (%s)', async (_name, make) => {
    function thrownHere(): unknown {
      return make();
    }
    const back = (await acrossThreads(thrownHere())) as Error;
    expect(back.stack).toContain('thrownHere');
    expect(back.stack?.split('\n')[0]).toBe(`${back.name}: ${back.message}`);
  });

  it('an AggregateError with hostile members keeps the readable ones', async () => {
    const members = [revoked(), Symbol('s'), new TypeError('fine'), withGetter(new Error('x'), 'message', thrower(1))];
    const back = (await acrossThreads(new AggregateError(members, 'many'))) as AggregateError;
    expect(back).toBeInstanceOf(AggregateError);
    expect(back.errors).toHaveLength(4);
    expect(back.errors[0]).toMatchObject({ code: 'ERR_UNCLONEABLE' });
    expect(back.errors[1]).toMatchObject({ code: 'ERR_UNCLONEABLE', message: expect.stringContaining('Symbol(s)') });
    expect(back.errors[2]).toBeInstanceOf(TypeError);
    expect(back.errors[3]).toMatchObject({ message: expect.stringContaining('could not be read') });
  });

  it('passes thrown BigInts, undefined and plain objects holding the codec key through as values', async () => {
    expect(await acrossThreads(10n)).toBe(10n);
    expect(await acrossThreads(undefined)).toBeUndefined();
    const forged = { __parapool_shared__: 'parapool.Value', data: { nope: 1 } };
    const { error, shared } = encodeError(forged);
    expect(shared).toBe(true);
    expect(await acrossThreads(forged)).toEqual(forged);
    expect(error.isError).toBe(false);
  });
});

describe('decodeError never throws on what a crashed or hostile thread sent', () => {
  const cases: Array<[string, unknown, boolean]> = [
    ['null', null, false],
    ['a number', 42, false],
    ['an empty object', {}, false],
    ['props that are not pairs', { isError: true, message: 'm', props: 'x' }, false],
    ['malformed pairs', { isError: true, message: 'm', props: [1, [2, 3], null, ['ok', 1]] }, false],
    ['an unknown parapool code and a non-string message', { isError: true, parapoolCode: 'ERR_NOPE', message: 5 }, false],
    ['a missing cause', { isError: true, hasCause: true, cause: null }, false],
    ['a builtin named after an Object.prototype member', { isError: true, builtin: 'constructor', message: 'm' }, false],
    ['a builtin named __proto__', { isError: true, builtin: '__proto__', message: 'm' }, false],
    ['AggregateError without an errors array', { isError: true, builtin: 'AggregateError', errors: 'x' }, false],
    ['a forged descriptor with an unknown tag', { isError: false, value: { __parapool_shared__: 'spec.Unknown', data: 1 } }, true],
    [
      'a cause chain deeper than followed',
      JSON.parse(`${'{"isError":true,"hasCause":true,"cause":'.repeat(50)}{"isError":true}${'}'.repeat(50)}`),
      false,
    ],
  ];

  it.each(cases)('%s', (_name, encoded, shared) => {
    expect(() => decodeError(encoded as never, shared)).not.toThrow();
  });

  it('turns a shared object that cannot be revived into a coded error', () => {
    const back = decodeError({ isError: false, value: { __parapool_shared__: 'spec.Unknown', data: 1 } }, true);
    expect(back).toMatchObject({ code: 'ERR_INVALID_STATE', message: expect.stringContaining('spec.Unknown') });
  });
});
