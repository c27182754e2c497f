/**
 * Node's module customization hooks for TypeScript ES modules in a worker
 * (`.mts`, and `.ts` in a `"type": "module"` package), registered by
 * ./load-task with `module.register` on a Node that cannot strip types. They
 * serve each file's compiled output from parapool's compile cache
 * (lib/tasks/typescript.ts): the module keeps its own URL (`import.meta.url`,
 * relative imports) and stays an ES module (top-level await). Compiling is
 * esbuild's, done once per file and shared by every thread through the cache
 * (`tasks()` compiles a task module ahead of its workers); each worker's hooks
 * thread only reads files, where tsx's hooks load tsx and esbuild in every one.
 * A TypeScript module that imports `./x.js` gets its `./x.ts` (TypeScript's
 * nodenext convention), as under tsx.
 *
 * These run in Node's hooks thread, not in the worker itself.
 */
import { fileURLToPath } from 'node:url';
import { isCommonJsFile } from '../tasks/module-format';
import { compiledTypeScript } from '../tasks/typescript';

type Context = { parentURL?: string | undefined; format?: string | undefined; conditions?: string[]; importAttributes?: object };
type ResolveResult = { url: string; format?: string | null | undefined; shortCircuit?: boolean };
type LoadResult = { format: string; source?: string | ArrayBuffer | Uint8Array | null | undefined; shortCircuit?: boolean };

const TYPESCRIPT_URL = /^file:.*\.[cm]?ts$/;
const SCRIPT_SPECIFIER = /^\.\.?\/.*\.[cm]?js$/;

export async function resolve(
  specifier: string,
  context: Context,
  next: (specifier: string, context: Context) => Promise<ResolveResult>,
): Promise<ResolveResult> {
  try {
    return await next(specifier, context);
  } catch (error) {
    const fromTypeScript = context.parentURL !== undefined && TYPESCRIPT_URL.test(context.parentURL.split('?')[0] ?? '');
    if ((error as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND' || !fromTypeScript || !SCRIPT_SPECIFIER.test(specifier)) throw error;
    return next(specifier.replace(/js$/, 'ts'), context);
  }
}

export async function load(
  url: string,
  context: Context,
  next: (url: string, context: Context) => Promise<LoadResult>,
): Promise<LoadResult> {
  const bare = url.split('?')[0] ?? url;
  if (!TYPESCRIPT_URL.test(bare)) return next(url, context);
  const filePath = fileURLToPath(bare);
  // A CommonJS one goes to `require`, where the worker's own hook serves it from the same cache.
  if (isCommonJsFile(filePath)) return { format: 'commonjs', shortCircuit: true };
  const source = compiledTypeScript(filePath, undefined, 'esm');
  if (source === undefined) return next(url, context);
  return { format: 'module', source, shortCircuit: true };
}
