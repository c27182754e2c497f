// workers/queue-worker.ts: a consumer that blocks its own thread only
import type { Queue } from 'parapool';

export function consume(queue: Queue<number | null>): number {
  let sum = 0;
  for (let item = queue.getSync(); item !== null; item = queue.getSync()) sum += item;
  return sum;
}
