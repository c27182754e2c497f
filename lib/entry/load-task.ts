/**
 * Finds a task function in a worker: loads its module once (TypeScript through
 * tsx, with no build step), or compiles an inline function's source once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TaskNotFoundError } from '../errors';
import { TYPESCRIPT_EXTENSIONS, type TaskSpec } from '../runtime/protocol';

// biome-ignore lint/suspicious/noExplicitAny: a loaded task takes whatever its caller sends; the types were checked on the caller's side
export type LoadedTask = (...args: any[]) => unknown;

const loaded = new Map<string, LoadedTask>();
let typescriptReady = false;

/** The task's function if it is already loaded: the hot path takes no await. */
export function cachedTask(spec: TaskSpec): LoadedTask | undefined {
  return loaded.get(spec.file === '' ? spec.name : `${spec.file}#${spec.name}`);
}

export async function loadTask(spec: TaskSpec): Promise<LoadedTask> {
  const key = spec.file === '' ? spec.name : `${spec.file}#${spec.name}`;
  let fn = loaded.get(key);
  if (fn === undefined) {
    fn = spec.file === '' ? compileInline(spec.name) : await loadExport(spec.file, spec.name);
    loaded.set(key, fn);
  }
  return fn;
}

function compileInline(source: string): LoadedTask {
  // Indirect eval: global scope, so the function sees globals and nothing else.
  // biome-ignore lint/security/noGlobalEval: an inline task is source text by design (API.md §1); it is the caller's own code
  // biome-ignore lint/complexity/noCommaOperator: `(0, eval)` is what makes the eval indirect (global scope)
  const fn = (0, eval)(source) as unknown;
  if (typeof fn !== 'function') throw new TaskNotFoundError(`Inline task source did not evaluate to a function: ${source.slice(0, 80)}`);
  return fn as LoadedTask;
}

async function importModule(file: string): Promise<Record<string, unknown>> {
  const filePath = fileURLToPath(file);
  try {
    if (TYPESCRIPT_EXTENSIONS.includes(path.extname(filePath))) {
      if (!typescriptReady) {
        // tsx's CommonJS hook loads .ts, .mts and .cts (also ESM syntax) inside worker threads.
        (require('tsx/cjs/api') as { register(): unknown }).register();
        typescriptReady = true;
      }
      const exports = require(filePath) as Record<string, unknown>;
      return exports;
    }
    return (await import(file)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && !fs.existsSync(filePath)) {
      throw new TaskNotFoundError(`Task module not found: ${filePath}`, { cause: error });
    }
    throw error;
  }
}

async function loadExport(file: string, name: string): Promise<LoadedTask> {
  const exports = await importModule(file);
  let fn = exports[name];
  // A CommonJS module imported as ESM keeps its exports under `default` too.
  if (fn === undefined && typeof exports.default === 'object' && exports.default !== null) {
    fn = (exports.default as Record<string, unknown>)[name];
  }
  if (typeof fn !== 'function') {
    const available = Object.keys(exports).filter((key) => typeof exports[key] === 'function');
    const what = fn === undefined ? 'has no export' : 'exports something that is not a function as';
    throw new TaskNotFoundError(
      `Task module ${fileURLToPath(file)} ${what} \`${name}\` (its function exports: ${available.join(', ') || 'none'})`,
    );
  }
  return fn as LoadedTask;
}
