/**
 * Pipe(): Python's `multiprocessing.Pipe`, two connected Connection ends.
 */
import { MessageChannel } from 'node:worker_threads';
import { readOptions } from '../shared/read-options';
import { checkBoolean } from '../validate';
import { type Connection, PIPE_TAG, PIPE_WORDS, connectionEnd } from './connection';

/** Options of `Pipe()`. */
export interface PipeOptions {
  /**
   * Both ends send and receive (`true`), or the first end only receives and the
   * second only sends (`false`).
   * @default true
   */
  readonly duplex?: boolean;
}

/**
 * Creates a pipe: `[a, b]`, where what `a` sends `b` receives and, when
 * `duplex` (the default), the other way round; with `{ duplex: false }`,
 * `[reader, writer]`. Pass one end to a task, Process or worker: it moves
 * there (see Connection).
 *
 * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for bad options.
 * @example
 * const [parentConn, childConn] = Pipe();
 * const [reader, writer] = Pipe({ duplex: false });
 * writer.send('hello');
 * await reader.recv();                          // 'hello'
 */
export function Pipe<T = unknown>(options?: PipeOptions): [Connection<T>, Connection<T>] {
  const duplex = checkBoolean('duplex', readOptions('options', options, ['duplex']).duplex) ?? true;
  const buffer = new SharedArrayBuffer(PIPE_WORDS * 4);
  Atomics.store(new Int32Array(buffer), 0, PIPE_TAG);
  const { port1, port2 } = new MessageChannel();
  return [
    connectionEnd<T>({ buffer, end: 0, port: port1, readable: true, writable: duplex }),
    connectionEnd<T>({ buffer, end: 1, port: port2, readable: duplex, writable: true }),
  ];
}
