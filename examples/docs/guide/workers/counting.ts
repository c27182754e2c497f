// workers/counting.ts
import type { SharedValue } from 'parapool';

export function addMany(counter: SharedValue<'i'>, times: number): void {
  for (let i = 0; i < times; i++) counter.add(1); // one atomic add: no lock needed
}
