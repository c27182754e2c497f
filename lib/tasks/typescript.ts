/**
 * TypeScript task modules on a Node.js that cannot strip types itself:
 * compiled with esbuild (tsx's own compiler, or the project's) into a cache of
 * files named by the SHA-256 of what the output depends on (the format, the
 * path, the source, the nearest tsconfig.json). `tasks()` compiles a module
 * once in the calling thread; a worker then reads the cached output, without
 * esbuild or tsx: a CommonJS one (`.cts`, or `.ts` in a package without
 * `"type": "module"`) through `require`, an ES module (`.mts`, or `.ts` in a
 * `"type": "module"` package) through parapool's module hooks
 * (lib/entry/ts-hooks.ts; tsx's would load tsx and esbuild in every worker's
 * hooks thread). A file the cache does not hold yet (a `.ts` module that the
 * task module imports) is compiled in the thread that needs it. Anything the
 * compiler refuses is left to tsx.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { isCommonJsFile } from './module-format';

type Esbuild = {
  transformSync(
    source: string,
    options: Record<string, unknown>,
  ): {
    code: string;
  };
};

/** Bumped whenever the compile options change, so older cached output is never read. */
const CACHE_FORMAT = 'parapool-ts-2';

/** True when this Node.js loads TypeScript by itself (type stripping, Node >= 22.18). */
export function nodeStripsTypes(): boolean {
  return Boolean((process.features as { typescript?: unknown }).typescript);
}

/** The text of the tsconfig.json nearest to `dir`, or '' (esbuild reads the options that change its output). */
function tsconfigText(dir: string): string {
  for (let current = dir; ; current = path.dirname(current)) {
    try {
      return fs.readFileSync(path.join(current, 'tsconfig.json'), 'utf8');
    } catch {
      if (path.dirname(current) === current) return '';
    }
  }
}

function cacheDirectory(): string {
  const user = typeof process.getuid === 'function' ? String(process.getuid()) : 'user';
  return path.join(os.tmpdir(), `parapool-ts-${user}`);
}

let esbuild: Esbuild | null | undefined;

/** Where esbuild is installed for a file: its project, parapool's, or the one tsx depends on; null when none is. */
function esbuildPath(filePath: string): string | null {
  for (const from of [filePath, __filename]) {
    const require = createRequire(from);
    for (const resolve of [() => require.resolve('esbuild'), () => createRequire(require.resolve('tsx/package.json')).resolve('esbuild')]) {
      try {
        return resolve();
      } catch {
        // not installed there: try the next place
      }
    }
  }
  return null;
}

/** esbuild itself, loaded at the first compile (a thread that finds everything in the cache never loads it). */
function loadEsbuild(filePath: string): Esbuild | null {
  if (esbuild !== undefined) return esbuild;
  const found = esbuildPath(filePath);
  esbuild = found === null ? null : (createRequire(__filename)(found) as Esbuild);
  return esbuild;
}

/** Whether esbuild is installed where a file's cache entries can be compiled: resolved, not loaded. */
export function hasCompiler(filePath: string): boolean {
  return esbuild != null || esbuildPath(filePath) !== null;
}

/**
 * The output for a TypeScript file, CommonJS or an ES module (`format`), from
 * the cache or compiled now (and cached); undefined when no compiler is
 * installed. Throws the compiler's error for a file it refuses.
 */
export function compiledTypeScript(
  filePath: string,
  source = fs.readFileSync(filePath, 'utf8'),
  format: 'cjs' | 'esm' = 'cjs',
): string | undefined {
  const tsconfig = tsconfigText(path.dirname(filePath));
  const key = createHash('sha256')
    .update(`${CACHE_FORMAT}\0${format}\0${process.versions.node}\0${filePath}\0${tsconfig}\0${source}`)
    .digest('hex');
  const cached = path.join(cacheDirectory(), `${key}.js`);
  try {
    return fs.readFileSync(cached, 'utf8');
  } catch {
    // not compiled yet
  }
  const compiler = loadEsbuild(filePath);
  if (compiler === null) return undefined;
  const { code } = compiler.transformSync(source, {
    loader: 'ts',
    format,
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    sourcefile: filePath,
    sourcemap: 'inline',
    sourcesContent: false,
    ...(tsconfig === '' ? {} : { tsconfigRaw: tsconfig }),
  });
  try {
    // Written whole then renamed: a thread reading the cache never sees half a file.
    fs.mkdirSync(cacheDirectory(), { recursive: true, mode: 0o700 });
    const partial = `${cached}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    fs.writeFileSync(partial, code, { mode: 0o600 });
    fs.renameSync(partial, cached);
  } catch {
    // A cache that cannot be written costs a compile per thread, nothing else.
  }
  return code;
}

/**
 * Compiles a TypeScript task module ahead of its workers, in the thread that
 * names it (see `tasks()`), when its workers will use the cache: Node cannot
 * strip types, and parapool runs from its build (from its sources, under jest
 * or tsx, its threads load TypeScript through a hook of their own). Never
 * throws: a module that fails to compile fails in the worker that loads it,
 * with the compiler's error.
 */
export function precompileTypeScript(filePath: string): void {
  if (nodeStripsTypes() || __filename.endsWith('.ts')) return;
  try {
    compiledTypeScript(filePath, undefined, isCommonJsFile(filePath) ? 'cjs' : 'esm');
  } catch {
    // reported by the worker
  }
}
