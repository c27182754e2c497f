// Compiles workers/*.ts once into benchmarks/.build/workers/*.js (CommonJS, git-ignored)
// so that every Node peer, and parapool too, runs the very same JavaScript: none of
// the peers can load TypeScript, and parapool's on-the-fly TypeScript loading is a
// start-up cost of its own, measured separately in workload 7.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync, transformSync } from 'esbuild';

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

/**
 * workers/math.ts in a `"type": "module"` package under benchmarks/.build/esm, as itself
 * and compiled to `.mjs`: the start-up of a TypeScript ES module task module against the
 * same module in JavaScript. Returns `{ mjs, ts }` absolute paths.
 */
export function buildEsmWorkers() {
  const dir = path.join(BUILD_DIR, 'esm');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  const source = fs.readFileSync(path.join(ROOT, 'workers', 'math.ts'), 'utf8');
  fs.writeFileSync(path.join(dir, 'math.ts'), source);
  fs.writeFileSync(path.join(dir, 'math.mjs'), transformSync(source, { loader: 'ts', format: 'esm', target: 'node20' }).code);
  return { mjs: path.join(dir, 'math.mjs'), ts: path.join(dir, 'math.ts') };
}
