/**
 * Task functions of the queue and pipe demos (seed 001 "Queue", seed 003
 * "Part 4 - Inter-Process Communication"). They run as Process targets and
 * block their own thread only (`getSync`, `recvSync`).
 */
import type { Connection, Queue } from 'parapool';

export interface WorkItem {
  id: number;
  value: number;
}

/** The seed's producer: `count` items, then the sentinel `null`. */
export function producer(queue: Queue<WorkItem | null>, count: number, seed: number): number {
  let state = seed >>> 0;
  for (let id = 0; id < count; id++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0; // a small LCG: the same items every run
    queue.putSync({ id, value: 1 + (state % 100) });
  }
  queue.putSync(null);
  return count;
}

/** The seed's consumer: squares values until the sentinel, which it passes on to the next consumer. */
export function consumer(
  queue: Queue<WorkItem | null>,
  results: Queue<[worker: number, id: number, square: number]>,
  worker: number,
): number {
  let handled = 0;
  for (;;) {
    const item = queue.getSync();
    if (item === null) {
      queue.putSync(null);
      return handled;
    }
    results.putSync([worker, item.id, item.value ** 2]);
    handled++;
  }
}

/** The seed's pipe child: receives numbers and sends back their squares until `null`. */
export function squaresChild(conn: Connection<number | null>): void {
  for (;;) {
    const data = conn.recvSync();
    if (data === null) {
      conn.close();
      return;
    }
    conn.send(data ** 2);
  }
}
