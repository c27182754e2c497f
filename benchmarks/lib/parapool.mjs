// Loads the built library (dist/cjs/index.js, what `npm run build` writes). When it
// is missing or does not export a piece yet, the parapool rows are skipped with a note.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { BUILD_DIR, ROOT } from './build.mjs';

const require = createRequire(import.meta.url);

/**
 * `{ mp }` with the module, or `{ error }` saying why parapool cannot run. The built
 * dist/cjs is copied first to benchmarks/.build/parapool/ and loaded from there, so
 * that a `npm run build` started elsewhere in the same checkout during a long run
 * (it empties dist/ while it works) cannot pull the files from under the workers.
 */
export function loadParapool() {
  const built = path.join(ROOT, 'dist', 'cjs');
  if (!fs.existsSync(path.join(built, 'index.js'))) return { error: 'dist/cjs/index.js is missing (run `npm run build`)' };
  const snapshot = path.join(BUILD_DIR, 'parapool', 'cjs');
  try {
    fs.rmSync(snapshot, { recursive: true, force: true });
    fs.cpSync(built, snapshot, { recursive: true });
    return { mp: require(path.join(snapshot, 'index.js')) };
  } catch (error) {
    return { error: `dist/cjs/index.js failed to load: ${error.message}` };
  }
}

/** Why `mp` cannot run a workload needing these exports, or null when it can. */
export function missingExports(parapool, names) {
  if (parapool.error) return parapool.error;
  const missing = names.filter((name) => parapool.mp[name] === undefined);
  return missing.length ? `parapool does not export ${missing.map((name) => `\`${name}\``).join(', ')} yet` : null;
}

/**
 * `--base <dist>` on an experiment's command line: `{ mp, library }` for another build of
 * parapool (a `dist/` directory, e.g. main's, built elsewhere), copied to
 * benchmarks/.build/parapool-base/ first so that it resolves piscina from this checkout;
 * `undefined` without the flag. Lets an experiment run a change and its base side by side,
 * interleaved in one process.
 */
export function loadBase(argv = process.argv) {
  const i = argv.indexOf('--base');
  if (i === -1) return undefined;
  const built = path.join(path.resolve(argv[i + 1]), 'cjs');
  if (!fs.existsSync(path.join(built, 'index.js'))) throw new Error(`--base ${argv[i + 1]}: no cjs/index.js there`);
  const snapshot = path.join(BUILD_DIR, 'parapool-base', 'cjs');
  fs.rmSync(snapshot, { recursive: true, force: true });
  fs.cpSync(built, snapshot, { recursive: true });
  const library = path.join(snapshot, 'index.js');
  return { mp: require(library), library };
}
