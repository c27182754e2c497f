// Loads the built library (dist/cjs/index.js, what `npm run build` writes). When it
// is missing or does not export a piece yet, the parapool rows are skipped with a note.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { ROOT } from './build.mjs';

const require = createRequire(import.meta.url);

/** `{ mp }` with the module, or `{ error }` saying why parapool cannot run. */
export function loadParapool() {
  const entry = path.join(ROOT, 'dist', 'cjs', 'index.js');
  if (!fs.existsSync(entry)) return { error: 'dist/cjs/index.js is missing (run `npm run build`)' };
  try {
    return { mp: require(entry) };
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
