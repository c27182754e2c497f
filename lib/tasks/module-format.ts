/**
 * Which module system Node.js loads a file with, by its own rules: `.cjs` and
 * `.cts` are CommonJS, `.mjs` and `.mts` ES modules, and `.js`/`.ts` follow the
 * `type` of the nearest package.json (CommonJS unless it says `"module"`). A
 * worker loads a CommonJS task module with `require`, which spares every
 * worker the start of the ES module loader.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const packageTypes = new Map<string, string>();

/** The `type` of the package.json nearest to `dir` ('' when it has none). */
function packageType(dir: string): string {
  const known = packageTypes.get(dir);
  if (known !== undefined) return known;
  let type: string;
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { type?: unknown };
    type = typeof manifest.type === 'string' ? manifest.type : '';
  } catch (error) {
    const parent = path.dirname(dir);
    type = (error as { code?: unknown }).code !== 'ENOENT' || parent === dir ? '' : packageType(parent);
  }
  packageTypes.set(dir, type);
  return type;
}

/** Whether Node's rules make this file a CommonJS module (`.cjs`, `.cts`; `.js`, `.ts` outside a `"type": "module"` package). */
export function isCommonJsFile(filePath: string): boolean {
  const extension = path.extname(filePath);
  if (extension === '.cjs' || extension === '.cts') return true;
  return (extension === '.js' || extension === '.ts') && packageType(path.dirname(filePath)) !== 'module';
}
