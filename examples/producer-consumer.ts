/**
 * Python's producer/consumer tutorial: one producer Process puts
 * 20 work items on a bounded Queue and then a sentinel; two consumer Processes
 * square them and pass the sentinel on. Nothing is lost or duplicated.
 */
import * as path from 'node:path';
import { Process, Queue, tasks } from 'parapool';
import type { WorkItem } from '../workers/messaging';
import { since } from './progress';

const messaging = tasks<typeof import('../workers/messaging')>(path.join(__dirname, '../workers/messaging.ts'));

export async function run(): Promise<void> {
  const count = 20;
  console.log(`A producer and two consumers on Queue({ maxsize: 10 }), ${count} items and a sentinel`);
  const start = performance.now();
  const queue = new Queue<WorkItem | null>({ maxsize: 10 });
  const results = new Queue<[worker: number, id: number, square: number]>();
  const processes = [
    new Process({ target: messaging.producer, args: [queue, count, 42], name: 'producer' }),
    new Process({ target: messaging.consumer, args: [queue, results, 1], name: 'consumer-1' }),
    new Process({ target: messaging.consumer, args: [queue, results, 2], name: 'consumer-2' }),
  ];
  for (const p of processes) p.start();
  const seen = new Set<number>();
  for (let i = 0; i < count; i++) {
    const [worker, id, square] = await results.get();
    seen.add(id);
    console.log(`  [consumer-${worker}] processed item ${String(id).padStart(2)}: ${square}`);
  }
  await Promise.all(processes.map((p) => p.join()));
  const exits = processes.map((p) => `${p.name}=${p.exitCode}`).join(', ');
  console.log(`  ${seen.size} distinct items of ${count}; exit codes ${exits}; ${since(start)}`);
}
