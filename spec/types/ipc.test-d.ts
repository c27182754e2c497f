// Type tests for Queue, JoinableQueue, SimpleQueue, Pipe and Connection:
// compiled by `npm run typecheck` (part of `npm test`), never run. An
// `@ts-expect-error` line that stops being an error fails the typecheck.
import { type Connection, JoinableQueue, Pipe, Queue, SimpleQueue } from '../../lib';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertEqual<A, B>(check: Equal<A, B>): void {
  void check;
}

export async function queueTypes(): Promise<void> {
  const q = new Queue<{ id: number } | null>({ maxsize: 10 });
  assertEqual<ReturnType<typeof q.put>, Promise<void>>(true);
  assertEqual<ReturnType<typeof q.get>, Promise<{ id: number } | null>>(true);
  assertEqual<ReturnType<typeof q.getSync>, { id: number } | null>(true);
  assertEqual<ReturnType<typeof q.getNowait>, { id: number } | null>(true);
  assertEqual<ReturnType<typeof q.qsize>, number>(true);
  await q.put({ id: 1 }, { blocking: true, timeout: 100 });
  q.putSync(null, { blocking: false });
  // @ts-expect-error an item of the wrong type
  q.putNowait('text');
  // @ts-expect-error an unknown option
  await q.get({ wait: true });
  // @ts-expect-error maxsize is a number
  void new Queue({ maxsize: '3' });

  const jobs = new JoinableQueue<string>();
  assertEqual<ReturnType<typeof jobs.join>, Promise<void>>(true);
  jobs.taskDone();
  jobs.joinSync({ timeout: 10 });
  const asQueue: Queue<string> = jobs;
  void asQueue;

  const simple = new SimpleQueue<number>();
  assertEqual<ReturnType<typeof simple.put>, void>(true);
  assertEqual<ReturnType<typeof simple.get>, Promise<number>>(true);
  // @ts-expect-error a SimpleQueue has no maxsize
  void new SimpleQueue({ maxsize: 1 });
}

export async function pipeTypes(): Promise<void> {
  const [a, b] = Pipe<number>();
  assertEqual<typeof a, Connection<number>>(true);
  a.send(1);
  // @ts-expect-error a message of the wrong type
  b.send('one');
  assertEqual<Awaited<ReturnType<typeof b.recv>>, number>(true);
  assertEqual<ReturnType<typeof b.recvSync>, number>(true);
  assertEqual<ReturnType<typeof b.poll>, Promise<boolean>>(true);
  assertEqual<ReturnType<typeof b.recvBytesSync>, Buffer>(true);
  const [reader, writer] = Pipe({ duplex: false });
  assertEqual<typeof reader, Connection<unknown>>(true);
  writer.sendBytes(new Uint8Array(4), 0, 2);
  // @ts-expect-error duplex is a boolean
  Pipe({ duplex: 'no' });
}

export function constructionTypes(): void {
  // Connections come from Pipe(): the INTERNAL token (not exported by the package) admits no `new`.
  // @ts-expect-error no public constructor
  void new (Pipe()[0].constructor as typeof Connection)();
  // @ts-expect-error Queue's only public constructor takes options, not a token and a core
  void new Queue(Symbol('parapool.internal'), {});
  // @ts-expect-error SimpleQueue takes no arguments
  void new SimpleQueue({ maxsize: 1 });
  // The revival plumbing is not on the public objects.
  // @ts-expect-error no `core` member
  void new Queue().core;
  // @ts-expect-error no `joinable` member
  void new JoinableQueue().joinable;
}
