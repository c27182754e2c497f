/**
 * Typed references to task functions. A task is an exported function of a
 * module file; the main thread never loads that module, it only names it. The
 * function's type rides along as a phantom type parameter, so `pool.map`
 * knows that `primes.isPrime` takes a number and returns a boolean.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TaskNotFoundError } from '../errors';
import { inlineSource } from './inline';
import type * as TypeScriptCache from './typescript';
import type { TaskSpec } from '../runtime/protocol';
import { invalidArg } from '../validate';

/** Any function type: the bound of every task's type parameter. */
// biome-ignore lint/suspicious/noExplicitAny: the bound must accept every function type, with `any` in both positions (`unknown` parameters reject typed ones)
export type AnyFunction = (...args: any[]) => any;

declare const taskFunction: unique symbol;

/**
 * A reference to the export `name` of the task module `file`, typed as `F`.
 * Made by `tasks()` or `task()`; accepted wherever a task is.
 */
export interface TaskRef<F extends AnyFunction = AnyFunction> {
  /** The task module, as a `file:` URL. */
  readonly file: string;
  /** The export's name. */
  readonly name: string;
  /** Type-level only: the function this reference runs. */
  readonly [taskFunction]?: F;
}

/** A task: a `TaskRef`, or a self-contained function sent as source text. */
export type Task<F extends AnyFunction> = TaskRef<F> | F;

/** `tasks()`'s result: one `TaskRef` per exported function of `M`. */
export type TaskModule<M> = {
  readonly [K in keyof M as M[K] extends AnyFunction ? K : never]: M[K] extends AnyFunction ? TaskRef<M[K]> : never;
};

const TASK_REF = Symbol.for('parapool.taskRef');

class TaskReference implements TaskRef {
  declare readonly [TASK_REF]: true;
  constructor(
    readonly file: string,
    readonly name: string,
  ) {
    Object.defineProperty(this, TASK_REF, { value: true });
    Object.freeze(this);
  }

  toString(): string {
    return `TaskRef(${fileURLToPath(this.file)}#${this.name})`;
  }
}

/** True for a `TaskRef` made by any copy of parapool. */
export function isTaskRef(value: unknown): value is TaskRef {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[TASK_REF] === true;
}

const RESOLVE_EXTENSIONS = ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts'];
/** TypeScript task modules this thread has compiled for its workers (lib/tasks/typescript.ts). */
const precompiled = new Set<string>();
/** TypeScript's nodenext convention: an import names `x.js` for the source `x.ts`. */
const TYPESCRIPT_TWIN: Readonly<Record<string, string>> = { '.js': '.ts', '.mjs': '.mts', '.cjs': '.cts' };

/** parapool's own code (lib/ or dist/cjs/): frames there are never "the caller". */
const PACKAGE_CODE = `${path.dirname(__dirname)}${path.sep}`;

/**
 * The directory of the file that called `tasks()`/`task()` (`api`), or the
 * parapool call that did (`classRef()`): relative paths resolve from there, as
 * `require` does. Code with no file of its own (`node -e`, a REPL, parapool's
 * own CLI) resolves from the current directory.
 */
function callerDirectory(api: AnyFunction): string {
  const holder: { stack?: unknown } = {};
  const { prepareStackTrace, stackTraceLimit } = Error;
  let sites: NodeJS.CallSite[] = [];
  try {
    Error.stackTraceLimit = 20;
    Error.prepareStackTrace = (_error, callSites) => callSites;
    Error.captureStackTrace(holder, api);
    sites = (holder.stack as NodeJS.CallSite[] | undefined) ?? [];
  } finally {
    Error.prepareStackTrace = prepareStackTrace;
    Error.stackTraceLimit = stackTraceLimit;
  }
  for (const site of sites) {
    const name = site.getFileName();
    if (typeof name !== 'string') continue;
    const file = name.startsWith('file:') ? fileURLToPath(name) : name;
    if (!path.isAbsolute(file) || file.startsWith('node:')) continue;
    if (file.startsWith(PACKAGE_CODE)) continue;
    return path.dirname(file);
  }
  return process.cwd();
}

/**
 * Resolves a task module: an absolute path or `file:` URL as given; a relative
 * path from the caller's file (like `require`). Then, like `require`, each
 * extension and `index.*`; and a `.js`/`.mjs`/`.cjs` path that does not exist
 * finds its `.ts`/`.mts`/`.cts` source.
 */
function resolveTaskFile(file: unknown, argName: string, api: AnyFunction): string {
  let filePath: string;
  if (file instanceof URL) {
    if (file.protocol !== 'file:') throw invalidArg(argName, 'a file path or a file: URL', file.href);
    filePath = fileURLToPath(file);
  } else if (typeof file === 'string' && file.length > 0) {
    if (file.startsWith('file:')) filePath = fileURLToPath(file);
    else filePath = path.isAbsolute(file) ? file : path.resolve(callerDirectory(api), file);
  } else {
    throw invalidArg(argName, 'a file path or a file: URL', file);
  }
  const extension = path.extname(filePath);
  const twin = TYPESCRIPT_TWIN[extension];
  let candidates = [filePath];
  if (twin !== undefined) candidates.push(filePath.slice(0, -extension.length) + twin);
  else if (!RESOLVE_EXTENSIONS.includes(extension)) {
    candidates = [
      filePath,
      ...RESOLVE_EXTENSIONS.map((ext) => filePath + ext),
      ...RESOLVE_EXTENSIONS.map((ext) => path.join(filePath, `index${ext}`)),
    ];
  }
  for (const candidate of candidates) {
    let found = false;
    try {
      found = fs.statSync(candidate).isFile();
    } catch {
      // try the next candidate
    }
    if (!found) continue;
    if (/\.[cm]?ts$/.test(candidate) && !precompiled.has(candidate)) {
      precompiled.add(candidate);
      // The compile cache (and node:crypto under it) loads with the first TypeScript task module only.
      (require('./typescript') as typeof TypeScriptCache).precompileTypeScript(candidate);
    }
    return pathToFileURL(candidate).href;
  }
  throw new TaskNotFoundError(`Task module not found: ${filePath}. Tried: ${candidates.join(', ')}`);
}

/**
 * A typed proxy over a task module: each property is a `TaskRef` to that
 * export. Nothing is loaded in the main thread; the file must exist. A
 * relative path resolves from the calling file's directory, like `require`
 * (from the current directory when the caller has no file, as in `node -e`); a
 * path without extension tries each extension and `index.*`; a `.js` path that
 * does not exist finds the `.ts` source next to it (TypeScript's nodenext
 * convention). TypeScript task modules need Node's type stripping or tsx.
 *
 * @throws TaskNotFoundError (`ERR_TASK_NOT_FOUND`) when the file does not exist, naming every path tried.
 * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when `file` is not a path or a `file:` URL.
 * @example
 * // ESM: a URL next to this module (the .js name also finds primes.ts before a build)
 * const primes = tasks<typeof import('./workers/primes.js')>(new URL('./workers/primes.js', import.meta.url));
 * // CommonJS: require.resolve('./workers/primes') or path.join(__dirname, 'workers/primes.js')
 * const flags = await pool.map(primes.isPrime, [2, 3, 4]);   // Promise<boolean[]>
 */
export function tasks<M>(file: string | URL): TaskModule<M> {
  const href = resolveTaskFile(file, 'file', tasks);
  const refs = new Map<string, TaskRef>();
  return new Proxy(Object.create(null) as TaskModule<M>, {
    get(_target, property) {
      // Not a thenable, not iterable: only string keys name exports.
      if (typeof property !== 'string' || property === 'then') return undefined;
      let ref = refs.get(property);
      if (ref === undefined) {
        ref = new TaskReference(href, property);
        refs.set(property, ref);
      }
      return ref;
    },
    has(_target, property) {
      return typeof property === 'string' && property !== 'then';
    },
  });
}

/**
 * One typed reference to the export `name` (default: `'default'`) of a task module.
 *
 * Paths resolve as for `tasks()`. The export must be the module's own
 * function (never an inherited property such as `constructor`), or the call
 * using it fails with `ERR_TASK_NOT_FOUND`.
 *
 * @throws TaskNotFoundError (`ERR_TASK_NOT_FOUND`) when the file does not exist, naming every path tried.
 * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when `name` is not a non-empty string.
 * @example
 * const isPrime = task<(n: number) => boolean>(new URL('./workers/primes.js', import.meta.url), 'isPrime');
 */
export function task<F extends AnyFunction>(file: string | URL, name = 'default'): TaskRef<F> {
  if (typeof name !== 'string' || name.length === 0) throw invalidArg('name', 'a non-empty export name', name);
  return new TaskReference(resolveTaskFile(file, 'file', task), name) as TaskRef<F>;
}

/**
 * What the worker needs to find the function: validated once per call. A
 * TaskRef always names a `file:` URL and an export name, read once: an object
 * forged to look like one can never smuggle source text into the worker.
 */
export function taskSpecOf(fn: unknown, argName = 'fn'): TaskSpec {
  if (isTaskRef(fn)) {
    const { file, name } = fn as { file: unknown; name: unknown };
    if (typeof file !== 'string' || !file.startsWith('file:') || typeof name !== 'string' || name.length === 0) {
      throw invalidArg(argName, 'a TaskRef made by tasks() or task() (a file: URL and an export name)', fn);
    }
    return { file, name };
  }
  if (typeof fn === 'function') return { file: '', name: inlineSource(fn as AnyFunction) };
  throw invalidArg(argName, 'a TaskRef (from tasks() or task()) or a self-contained function', fn);
}
