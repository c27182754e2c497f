// Compiles workers/*.ts once into benchmarks/.build/workers/*.js (CommonJS, git-ignored)
// so that every Node peer, and parapool too, runs the very same JavaScript: none of
// the peers can load TypeScript, and parapool's on-the-fly TypeScript loading is a
// start-up cost of its own, measured separately in workload 7.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

export const BENCH_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = path.join(BENCH_DIR, '..');
export const BUILD_DIR = path.join(BENCH_DIR, '.build');

/** Compiles and returns `{ js: { primes, math, montecarlo }, ts: { ... } }` absolute paths. */
export function buildWorkers() {
  const names = ['primes', 'math', 'montecarlo'];
  const ts = Object.fromEntries(names.map((name) => [name, path.join(ROOT, 'workers', `${name}.ts`)]));
  const outdir = path.join(BUILD_DIR, 'workers');
  fs.mkdirSync(outdir, { recursive: true });
  buildSync({
    entryPoints: Object.values(ts),
    outdir,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  });
  const js = Object.fromEntries(names.map((name) => [name, path.join(outdir, `${name}.js`)]));
  return { js, ts };
}
