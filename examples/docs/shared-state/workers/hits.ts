// workers/hits.ts: atomic updates of a shared integer
import type { SharedValue } from 'parapool';

export function hit(hits: SharedValue<'i'>, best: SharedValue<'i'>, score: number): void {
  hits.add(1); // returns the previous value
  // A running maximum: retry until no other thread changed `best` in between.
  for (let seen = best.load(); score > seen; ) {
    const previous = best.compareExchange(seen, score);
    if (previous === seen) break;
    seen = previous;
  }
}
