// shared.ts: shared memory between the main thread and the workers
import { Pool, SharedMemory, Value, Array as sharedArray, tasks } from 'parapool';

const counting = tasks<typeof import('./workers/counting.js')>(new URL('./workers/counting.js', import.meta.url));
await using pool = new Pool({ workers: 2 });

const counter = Value('i', 0); // a shared int32, with an RLock
await pool.starmap(counting.addMany, [
  [counter, 100_000],
  [counter, 100_000],
]);
console.log(counter.value); // exactly 200000

counter.add(1); // lock-free atomic add on integer typecodes
const arr = sharedArray('d', 1_000_000); // shared Float64Array; arr.view is the typed array
const shm = new SharedMemory({ create: true, size: 1 << 20 }); // attach elsewhere by shm.name
console.log(counter.value, arr.view.length, shm.size); // 200001 1000000 1048576
shm.close();
shm.unlink();
