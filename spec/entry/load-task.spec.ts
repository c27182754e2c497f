// How a worker finds a task: TypeScript modules as ESM (top-level await), only
// a module's own function exports, inline functions compiled by a TypeScript
// loader (tsx's `__name` helper). Runs parapool from its sources (dev entries).
import * as path from 'node:path';
import { Pool, task, tasks } from '../../lib';

const fixture = path.join(__dirname, '../fixtures', 'pool-tasks.ts');

describe('loading tasks in a worker', () => {
  let pool: Pool;
  beforeAll(() => {
    pool = new Pool({ workers: 1 });
  });
  afterAll(async () => {
    await pool.terminate();
  });

  it('loads an .mts task module with top-level await as ESM', async () => {
    const t = tasks<{ addOffset(n: number): number }>('../fixtures/tasks/top-level-await.mjs');
    expect(await pool.map(t.addOffset, [1, 2, 3])).toEqual([101, 102, 103]);
  });

  it('finds a CommonJS module whose module.exports is a function: it as `default`, its function properties by name', async () => {
    const commonjs = path.join(__dirname, '../fixtures/tasks/commonjs');
    expect(await pool.apply(task<(n: number) => number>(path.join(commonjs, 'exports.js')), [2])).toBe(6);
    expect(await pool.apply(task<(n: number) => number>(path.join(commonjs, 'exports.js'), 'negate'), [2])).toBe(-2);
  });

  it('finds only own function exports: never Object.prototype.constructor or toString', async () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      await expect(pool.apply(task(fixture, name), [])).rejects.toMatchObject({ code: 'ERR_TASK_NOT_FOUND' });
    }
    await expect(pool.apply(task(fixture, 'notAFunction'), [])).rejects.toThrow(/not a function/);
    expect(await pool.apply(task<(a: number, b: number) => number>(fixture, 'add'), [1, 2])).toBe(3);
  });

  it('runs an inline function whose inner functions a TypeScript loader wrapped in __name()', async () => {
    // What tsx (esbuild keepNames) makes of `(n) => { function inner(k) {...} class A {...} ... }`.
    const compiled = new Function(
      'return (n) => { function inner(k) { return k + 1; } __name(inner, "inner"); const A = class { v = inner(n); }; __name(A, "A"); return [new A().v, inner.name]; }',
    )() as (n: number) => [number, string];
    expect(await pool.map(compiled, [1, 2])).toEqual([
      [2, 'inner'],
      [3, 'inner'],
    ]);
  });
});
