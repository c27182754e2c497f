// Type tests for the Manager: compiled by `npm run typecheck`, never run. An
// `@ts-expect-error` line that stops being an error fails the typecheck.
import {
  classRef,
  type Lock,
  Manager,
  type ManagedDict,
  type ManagedList,
  type Proxied,
  type Queue,
  type Remote,
  type RemoteArrayMethods,
  type RemoteLockMethods,
  type SharedValue,
} from '../../lib';
import type { Counter } from '../fixtures/manager-types';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertEqual<A, B>(check: Equal<A, B>): void {
  void check;
}

const CounterRef = classRef<typeof Counter>('spec/fixtures/manager-types.ts', 'Counter');
const MyManager = Manager.register({ Counter: CounterRef });

export async function managerTypes(): Promise<void> {
  const m = await MyManager.start();
  const d = await m.dict<string, number[]>();
  assertEqual<typeof d, ManagedDict<string, number[]>>(true);
  const v = await d.get('k');
  assertEqual<typeof v, readonly number[] | undefined>(true);
  // @ts-expect-error a value read back is a read-only copy: Python's d['k'].append(x) trap does not compile
  v?.push(1);
  const withDefault = await d.get('k', 0);
  assertEqual<typeof withDefault, readonly number[] | number>(true);
  // @ts-expect-error the value type is checked
  await d.set('k', 'not numbers');
  const syncValue = d.sync.get('k');
  assertEqual<typeof syncValue, readonly number[] | undefined>(true);

  const c = await m.Counter(1);
  assertEqual<typeof c, Proxied<Counter>>(true);
  const n = await c.increment(2);
  assertEqual<typeof n, number>(true);
  const later = await c.later(1, 2);
  assertEqual<typeof later, number>(true);
  const s: number = c.sync.increment();
  void s;
  // @ts-expect-error constructor arguments are checked
  await m.Counter('one');
  // @ts-expect-error only public methods: the private field is not there
  void c.value;
  await m.Counter(1, { name: 'c' });

  const nestedDict = await m.dict<string, ManagedList<number>>();
  const inner = await nestedDict.get('list');
  // a proxy read back stays a proxy: its methods are there
  if (inner !== undefined) await inner.append(1);

  const lock = await m.Lock();
  assertEqual<typeof lock, Lock>(true);
  const q = await m.Queue<string>({ maxsize: 1, name: 'q' });
  assertEqual<typeof q, Queue<string>>(true);
  const value = await m.Value('i', 0);
  assertEqual<typeof value, SharedValue<'i'>>(true);
  // @ts-expect-error no such factory on an unregistered Manager
  void (await Manager.start()).Counter;
  await m.shutdown();
}

export async function connectedManagerTypes(): Promise<void> {
  // Over TCP the objects of §5–7 are the server's: proxies with async methods and `.sync` forms.
  await using m = await MyManager.connect({ address: { host: '127.0.0.1', port: 1 }, authkey: 'k' });
  const lock = await m.Lock();
  assertEqual<typeof lock, Remote<RemoteLockMethods>>(true);
  const got = await lock.acquire({ timeout: 10 });
  assertEqual<typeof got, boolean>(true);
  const held: boolean = lock.sync.locked();
  void held;
  // @ts-expect-error a remote lock has no acquireSync (its blocking form is lock.sync.acquire)
  lock.acquireSync();
  const v0 = await m.Value('i', 0);
  const cond = await m.Condition(lock);
  const notified = await cond.wait({ timeout: 5 });
  assertEqual<typeof notified, boolean>(true);
  // waitFor runs the predicate here: its value comes back, sync or async.
  const found = await cond.waitFor(async () => (await v0.get()) > 2, { timeout: 50 });
  assertEqual<typeof found, boolean>(true);
  const label = cond.sync.waitFor(() => 'ready' as const);
  assertEqual<typeof label, 'ready'>(true);
  // @ts-expect-error the blocking form takes a synchronous predicate only
  const wrong: boolean = cond.sync.waitFor(async () => true);
  void wrong;
  const barrier = await m.Barrier(2, { timeout: 100 });
  const index = await barrier.wait();
  assertEqual<typeof index, number>(true);
  const arr = await m.Array('q', 3);
  assertEqual<typeof arr, Remote<RemoteArrayMethods<bigint>>>(true);
  const item = arr.sync.get(0);
  assertEqual<typeof item, bigint>(true);
  // @ts-expect-error the element type follows the typecode
  await arr.set(0, 1);
  const q = await m.Queue<{ a: number[] }>();
  const back = await q.get({ timeout: 1 });
  // @ts-expect-error an item read back is a read-only copy
  back.a.push(1);
  const v = await m.Value('d', 1.5);
  const previous = await v.add(1);
  assertEqual<typeof previous, number>(true);
  const c = await m.Counter(1);
  assertEqual<typeof c, Proxied<Counter>>(true);
  const d = await m.dict<string, number>();
  assertEqual<typeof d, ManagedDict<string, number>>(true);
}
