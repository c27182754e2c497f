/**
 * The classes the manager demo registers (examples/manager.ts): seed 004's
 * shared cache. They run in the manager thread; workers get proxies.
 */
export class Cache {
  readonly #entries = new Map<string, number>();
  #hits = 0;
  #misses = 0;

  /** The cached value, or undefined (a miss). */
  lookup(key: string): number | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) this.#misses++;
    else this.#hits++;
    return value;
  }

  store(key: string, value: number): void {
    this.#entries.set(key, value);
  }

  stats(): { size: number; hits: number; misses: number } {
    return { size: this.#entries.size, hits: this.#hits, misses: this.#misses };
  }
}
