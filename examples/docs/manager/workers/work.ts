// workers/work.ts: a task module; a proxy arrives as a working proxy
import type { ManagedDict } from 'parapool';

export function fill(results: ManagedDict<string, number>, worker: number): void {
  results.sync.set(`worker ${worker}`, worker * 10);
}
