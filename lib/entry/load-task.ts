/**
 * Finds a task function in a worker: loads its module once, or compiles an
 * inline function's source once. A TypeScript task module (.ts, .mts, .cts)
 * loads through Node's own type stripping where this Node has it; else from
 * parapool's compile cache (lib/tasks/typescript.ts, esbuild's output), a
 * CommonJS one with `require`, an ES module through parapool's module hooks
 * (./ts-hooks.ts), so a `.mts` module may use top-level await; and through tsx
 * (an optional peer dependency, which brings esbuild) where those cannot:
 * no esbuild to fill the cache, or an import only tsx resolves.
 */
import * as fs from 'node:fs';
import type * as NodeModule from 'node:module';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Errors from '../errors';
import { TYPESCRIPT_EXTENSIONS, type TaskSpec } from '../runtime/protocol';
import { isCommonJsFile } from '../tasks/module-format';
import type * as TypeScriptCache from '../tasks/typescript';

// biome-ignore lint/suspicious/noExplicitAny: a loaded task takes whatever its caller sends; the types were checked on the caller's side
export type LoadedTask = (...args: any[]) => unknown;

const loaded = new Map<string, LoadedTask>();

/** The error classes load when one is thrown: a worker that loads its tasks fine boots without them. */
function errors(): typeof Errors {
  return require('../errors') as typeof Errors;
}

function taskNotFound(message: string): Errors.TaskNotFoundError {
  return new (errors().TaskNotFoundError)(message);
}

/** The task's function if it is already loaded: the hot path takes no await. */
export function cachedTask(spec: TaskSpec): LoadedTask | undefined {
  return loaded.get(spec.file === '' ? spec.name : `${spec.file}#${spec.name}`);
}

export async function loadTask(spec: TaskSpec): Promise<LoadedTask> {
  if (typeof spec.file !== 'string' || typeof spec.name !== 'string' || (spec.file !== '' && !spec.file.startsWith('file:'))) {
    throw taskNotFound('A task names a module by its file: URL, or is inline source with no file');
  }
  const key = spec.file === '' ? spec.name : `${spec.file}#${spec.name}`;
  let fn = loaded.get(key);
  if (fn === undefined) {
    fn = spec.file === '' ? compileInline(spec.name) : await loadExport(spec.file, spec.name);
    loaded.set(key, fn);
  }
  return fn;
}

/**
 * TypeScript loaders that keep function names (tsx, esbuild's keepNames) wrap
 * named inner functions and classes in calls to a `__name` helper that exists
 * only in the module they compiled. The inline scope defines the same helper.
 */
const INLINE_PRELUDE = 'const __name = (target, value) => Object.defineProperty(target, "name", { value, configurable: true });';

function compileInline(source: string): LoadedTask {
  // Indirect eval: global scope, so the function sees globals (and the prelude) and nothing else.
  // biome-ignore lint/security/noGlobalEval: an inline task is source text by design (API.md §1); it is the caller's own code, checked by inlineSource()
  // biome-ignore lint/complexity/noCommaOperator: `(0, eval)` is what makes the eval indirect (global scope)
  const fn = (0, eval)(`(() => { ${INLINE_PRELUDE} return ${source}; })()`) as unknown;
  if (typeof fn !== 'function') throw taskNotFound(`Inline task source did not evaluate to a function: ${source.slice(0, 80)}`);
  return fn as LoadedTask;
}

type ModuleExports = Record<string, unknown>;

/** The compile cache (lib/tasks/typescript.ts), loaded with the first TypeScript task module: a JavaScript one never needs it. */
function typeScriptCache(): typeof TypeScriptCache {
  return require('../tasks/typescript') as typeof TypeScriptCache;
}
let tsxRegistered = false;

/**
 * node:module, for the TypeScript paths only: a worker whose task modules are JavaScript never loads it (nor the
 * source-map support Node loads with it), which shortens every worker's start.
 */
function nodeModule(): typeof NodeModule {
  return require('node:module') as typeof NodeModule;
}

type TsxExports = { exports: Record<string, { import?: { default: string }; require?: { default: string } } | undefined> };

/** tsx's package directory and exports map, from the task module's project first, then from parapool's. */
function findTsx(filePath: string): { dir: string; manifest: TsxExports; require: NodeJS.Require } | undefined {
  for (const from of [filePath, __filename]) {
    const require = nodeModule().createRequire(from);
    try {
      const manifestPath = require.resolve('tsx/package.json');
      const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as TsxExports;
      return { dir: path.dirname(manifestPath), manifest, require };
    } catch {
      // not installed there: try the next place
    }
  }
  return undefined;
}

/**
 * Registers tsx's CommonJS hook (for `.cts`, and `.ts` in a CommonJS package)
 * and its ESM hook (for `.mts`, and `.ts` in a `"type": "module"` package) in
 * this thread, once; false when tsx is not installed.
 */
async function registerTsx(filePath: string): Promise<boolean> {
  if (tsxRegistered) return true;
  const tsx = findTsx(filePath);
  if (tsx === undefined) return false;
  (tsx.require(path.join(tsx.dir, tsx.manifest.exports['./cjs/api']?.require?.default ?? '')) as { register(): unknown }).register();
  const esmApi = path.join(tsx.dir, tsx.manifest.exports['./esm/api']?.import?.default ?? '');
  ((await import(pathToFileURL(esmApi).href)) as { register(): unknown }).register();
  tsxRegistered = true;
  return true;
}

function missingLoader(filePath: string): Errors.InvalidStateError {
  return new (errors().InvalidStateError)(
    `The task module ${filePath} is TypeScript, and this Node.js (${process.version}) cannot load TypeScript by itself. ` +
      'Install tsx in your project (`npm install --save-dev tsx`), use Node.js >= 22.18 (type stripping on by default), ' +
      'or point the task at the compiled .js file.',
  );
}

type Extensions = Record<string, (module: { _compile(code: string, filename: string): void }, filename: string) => void>;
type Resolver = (request: string, parent: { filename?: string | null } | undefined, ...rest: unknown[]) => string;

let cacheHookInstalled = false;

/**
 * Serves `.ts`/`.cts` files to `require` from the compile cache, and lets a
 * TypeScript module require `./x.js` for its `./x.ts` sibling (TypeScript's
 * nodenext convention), as tsx does. Only in a worker thread, once.
 */
function installCacheHook(): void {
  if (cacheHookInstalled) return;
  cacheHookInstalled = true;
  const extensions = require.extensions as unknown as Extensions;
  const compile: Extensions[string] = (module, filename) => {
    const code = justCompiled.get(filename) ?? typeScriptCache().compiledTypeScript(filename);
    justCompiled.delete(filename);
    if (code === undefined) throw missingLoader(filename);
    module._compile(code, filename);
  };
  extensions['.ts'] = compile;
  extensions['.cts'] = compile;
  const internals = nodeModule().Module as unknown as { _resolveFilename: Resolver };
  const resolve = internals._resolveFilename;
  internals._resolveFilename = function resolveTypeScriptTwin(request, parent, ...rest) {
    try {
      return resolve.call(this, request, parent, ...rest);
    } catch (error) {
      const twin = /^\.\.?\/.*\.c?js$/.test(request) && /\.c?ts$/.test(parent?.filename ?? '') ? request.replace(/js$/, 'ts') : undefined;
      if (twin === undefined) throw error;
      return resolve.call(this, twin, parent, ...rest);
    }
  };
  // Stack traces point into the TypeScript source (the cached output carries its source map).
  process.setSourceMapsEnabled(true);
}

/** Output compiled by requireTypeScript's check, for the hook to use once instead of reading the cache again. */
const justCompiled = new Map<string, string>();

/**
 * A CommonJS TypeScript module through `require` and the compile cache, shaped
 * like what `import()` gives (its exports, and `default`); undefined when it is
 * not for the cache (no compiler installed, or one that refuses the file: tsx's turn).
 */
function requireTypeScript(filePath: string): ModuleExports | undefined {
  // A hook installed before ours (tsx, when parapool itself runs from its sources) compiles instead.
  if (cacheHookInstalled || require.extensions['.ts'] === undefined) {
    try {
      const code = typeScriptCache().compiledTypeScript(filePath);
      if (code === undefined) return undefined;
      justCompiled.set(filePath, code);
    } catch {
      return undefined;
    }
    installCacheHook();
  }
  return asNamespace(require(filePath) as unknown);
}

/** A CommonJS module's exports as `import()` shows them: its own properties, and the whole as `default`. */
function asNamespace(exports: unknown): ModuleExports {
  const namespace: ModuleExports =
    (typeof exports === 'object' && exports !== null) || typeof exports === 'function' ? { ...(exports as ModuleExports) } : {};
  // Compiled `export default` (esbuild and tsc mark such exports with __esModule).
  const esModule = (exports as ModuleExports | undefined)?.__esModule === true && Object.hasOwn(namespace, 'default');
  namespace.default = esModule ? namespace.default : exports;
  return namespace;
}

/**
 * A CommonJS JavaScript module through `require`, which spares this worker the
 * start of the ES module loader. `require` also loads a `.js` file whose module
 * syntax Node detects; one with top-level await it refuses before running any
 * of it, and that goes to `import()`.
 */
async function requireOrImport(file: string, filePath: string): Promise<ModuleExports> {
  try {
    return asNamespace(require(filePath) as unknown);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_REQUIRE_ASYNC_MODULE') throw error;
    return (await import(file)) as ModuleExports;
  }
}

async function importTypeScript(file: string, filePath: string): Promise<ModuleExports> {
  const { nodeStripsTypes } = typeScriptCache();
  if (!tsxRegistered && !nodeStripsTypes() && isCommonJsFile(filePath)) {
    const exports = requireTypeScript(filePath);
    if (exports !== undefined) return exports;
  }
  if (!tsxRegistered && nodeStripsTypes()) {
    try {
      return (await import(file)) as ModuleExports;
    } catch (error) {
      // Syntax that needs a real transform (enums, namespaces, parameter properties), or a
      // module inside node_modules: tsx handles those, if installed.
      const code = (error as { code?: unknown }).code;
      const unsupported = code === 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX' || code === 'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING';
      if (!unsupported || !(await registerTsx(filePath))) throw error;
      return (await import(`${file}?tsx`)) as ModuleExports;
    }
  }
  if (tsxFallbacks.has(file)) return (await import(`${file}?tsx`)) as ModuleExports;
  if (!tsxRegistered && registerOwnHooks(filePath)) {
    try {
      return (await import(file)) as ModuleExports;
    } catch (error) {
      // An import these hooks cannot resolve (tsx also finds extensionless and directory imports) fails
      // before any module ran: tsx may still load the graph, under a URL of its own (Node keeps the failure).
      if (!UNRESOLVED.includes((error as { code?: unknown }).code as string) || !(await registerTsx(filePath))) throw error;
      tsxFallbacks.add(file);
      return (await import(`${file}?tsx`)) as ModuleExports;
    }
  }
  if (!(await registerTsx(filePath))) throw missingLoader(filePath);
  return (await import(file)) as ModuleExports;
}

let ownHooksRegistered = false;
/** Task modules that ./ts-hooks could not load and tsx did, under `?tsx`. */
const tsxFallbacks = new Set<string>();
const UNRESOLVED = ['ERR_MODULE_NOT_FOUND', 'ERR_UNSUPPORTED_DIR_IMPORT', 'ERR_UNKNOWN_FILE_EXTENSION'];

/**
 * Registers ./ts-hooks for the TypeScript ES modules of this thread, once:
 * false when parapool runs from its sources (whose threads have tsx's hooks
 * instead: the hooks thread could not load a .ts hooks module) or no esbuild
 * is installed to fill the cache.
 */
function registerOwnHooks(filePath: string): boolean {
  if (ownHooksRegistered) return true;
  if (__filename.endsWith('.ts') || !typeScriptCache().hasCompiler(filePath)) return false;
  // A CommonJS .ts that such a module imports goes to `require`: serve it from the cache too.
  if (require.extensions['.ts'] === undefined) installCacheHook();
  nodeModule().register(pathToFileURL(path.join(__dirname, 'ts-hooks.js')).href);
  process.setSourceMapsEnabled(true);
  ownHooksRegistered = true;
  return true;
}

async function importModule(file: string): Promise<ModuleExports> {
  const filePath = fileURLToPath(file);
  if (!fs.existsSync(filePath)) throw taskNotFound(`Task module not found: ${filePath}`);
  if (TYPESCRIPT_EXTENSIONS.includes(path.extname(filePath))) return importTypeScript(file, filePath);
  // Under a loader of its own (tsx), `require` would compile the module with it: leave it to import().
  if (isCommonJsFile(filePath) && (cacheHookInstalled || require.extensions['.ts'] === undefined)) return requireOrImport(file, filePath);
  return (await import(file)) as ModuleExports;
}

/** An own property that is a function: never one inherited from Object.prototype (`constructor`, `toString`). */
function ownFunction(exports: unknown, name: string): LoadedTask | undefined {
  if ((typeof exports !== 'object' && typeof exports !== 'function') || exports === null || !Object.hasOwn(exports, name)) return undefined;
  const value = (exports as ModuleExports)[name];
  return typeof value === 'function' ? (value as LoadedTask) : undefined;
}

async function loadExport(file: string, name: string): Promise<LoadedTask> {
  const exports = await importModule(file);
  // A CommonJS module imported as ESM keeps its exports under `default` too.
  const fn = ownFunction(exports, name) ?? (name === 'default' ? undefined : ownFunction(exports.default, name));
  if (fn === undefined) {
    // Said of both places a name is looked up: the namespace and, for CommonJS imported as ESM, its `default`.
    const inner = exports.default;
    const places = [
      exports,
      ...((typeof inner === 'object' && inner !== null) || typeof inner === 'function' ? [inner as ModuleExports] : []),
    ];
    const available = [...new Set(places.flatMap((place) => Object.keys(place).filter((key) => typeof place[key] === 'function')))];
    const what = places.some((place) => Object.hasOwn(place, name)) ? 'exports something that is not a function as' : 'has no export';
    throw taskNotFound(`Task module ${fileURLToPath(file)} ${what} \`${name}\` (its function exports: ${available.join(', ') || 'none'})`);
  }
  return fn;
}
