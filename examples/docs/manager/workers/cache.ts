// workers/cache.ts: a class the manager holds; its public methods are its proxy's methods
export class Cache {
  readonly #entries = new Map<string, number>();

  store(key: string, value: number): void {
    this.#entries.set(key, value);
  }

  lookup(key: string): number | undefined {
    return this.#entries.get(key);
  }
}
