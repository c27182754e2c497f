import { MessageChannel } from 'node:worker_threads';
import { decodeError, encodeError } from '../../lib/codec/error-codec';
import { EOFError, ParapoolError, QueueEmptyError, WorkerExitedError, errorClassesByCode } from '../../lib/errors';

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
