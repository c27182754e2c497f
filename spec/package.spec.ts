// The built package (dist/, made by `npm run build`, which `npm test` runs
// first) imported the ways users import it: ESM `import`, CommonJS `require`,
// with a TypeScript task module that runs with no build step.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.join(__dirname, '..');

function runNode(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 60_000 });
}

describe('the built package', () => {
  beforeAll(() => {
    if (!fs.existsSync(path.join(root, 'dist/cjs/index.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  });

  it('works from ESM: named and namespace imports, a TypeScript task module, the same classes', () => {
    const output = runNode([
      '--input-type=module',
      '-e',
      `
      import * as mp from 'parapool';
      import { Pool, tasks, Value } from 'parapool';
      const primes = tasks('./workers/primes.ts');
      const pool = new Pool({ workers: 2 });
      const flags = await pool.map(primes.isPrime, [2, 3, 4, 5, 6, 7]);
      const count = await pool.apply(primes.countPrimes, [0, 100000]);
      await pool[Symbol.asyncDispose]();
      console.log(JSON.stringify({ flags, count, same: mp.Pool === Pool, hasValue: typeof Value === 'function' }));
      `,
    ]);
    expect(JSON.parse(output)).toEqual({ flags: [true, true, false, true, false, true], count: 9592, same: true, hasValue: true });
  });

  it('works from CommonJS, and ESM and CommonJS share one copy of the code', () => {
    const output = runNode([
      '-e',
      `
      const mp = require('parapool');
      (async () => {
        const esm = await import('parapool');
        const pool = new mp.Pool({ workers: 1 });
        const sum = await pool.apply((a, b) => a + b, [20, 22]);
        pool.close();
        await pool.join();
        console.log(JSON.stringify({ sum, same: esm.Pool === mp.Pool, errors: esm.ParapoolError === mp.ParapoolError }));
      })();
      `,
    ]);
    expect(JSON.parse(output)).toEqual({ sum: 42, same: true, errors: true });
  });

  it('exports the same names from ESM and CommonJS', () => {
    const cjs = JSON.parse(runNode(['-e', `console.log(JSON.stringify(Object.keys(require('parapool')).sort()))`])) as string[];
    const esm = JSON.parse(
      runNode([
        '--input-type=module',
        '-e',
        `import * as mp from 'parapool'; console.log(JSON.stringify(Object.keys(mp).filter((k) => k !== 'default').sort()))`,
      ]),
    ) as string[];
    expect(esm).toEqual(cjs.filter((name) => name !== '__esModule'));
    for (const name of ['Pool', 'tasks', 'task', 'transfer', 'ParapoolError', 'AsyncResult']) expect(cjs).toContain(name);
  });
});
