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
