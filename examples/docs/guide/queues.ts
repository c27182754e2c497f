// queues.ts: a Queue between threads, and a Pipe
import { Pipe, Pool, Queue, tasks } from 'parapool';

const worker = tasks<typeof import('./workers/queue-worker.js')>(new URL('./workers/queue-worker.js', import.meta.url));
await using pool = new Pool({ workers: 1 });

const queue = new Queue<number | null>({ maxsize: 100 });
const sum = pool.apply(worker.consume, [queue]); // queue.getSync() in the worker
for (let job = 1; job <= 1000; job++) await queue.put(job); // main thread: waits while the queue is full
await queue.put(null);
console.log(await sum); // 500500

const [parent, child] = Pipe<{ n: number }>();
parent.send({ n: 42 });
console.log(await child.recv()); // { n: 42 }
