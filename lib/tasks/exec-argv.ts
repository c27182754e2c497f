/**
 * The Node.js options parapool's threads start with. A worker inherits its
 * parent's `process.execArgv` by default, so a program run with tsx
 * (`npx tsx main.ts`, or `node --import tsx main.ts`) starts tsx's ESM loader
 * in every thread: in Node 20 that is a loader thread of its own per worker,
 * paid even when every task module is JavaScript. parapool's threads load a
 * TypeScript task module themselves (../entry/load-task: the compile cache, or
 * tsx registered in that thread once it needs it), so they start without
 * tsx's loader flags and keep the rest.
 *
 * Only a list made of options a worker is known to accept is passed on: an
 * explicit `execArgv` with a per-process or V8 option (`--max-old-space-size`,
 * `--inspect`) would make `new Worker()` throw, where an inherited one is
 * accepted. Any other option, or none of tsx's, keeps today's inheritance.
 */

/** Options that take their value as the next argument, as `--import x` (or `--import=x`). */
const WITH_VALUE = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader', '--conditions', '-C']);
/** The module-loading options whose value may name tsx. */
const LOADERS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);
/** Per-thread options without a value that a worker accepts in its `execArgv`. */
const FLAGS = new Set([
  '--enable-source-maps',
  '--no-warnings',
  '--no-deprecation',
  '--trace-warnings',
  '--trace-deprecation',
  '--throw-deprecation',
  '--pending-deprecation',
  '--trace-uncaught',
  '--preserve-symlinks',
  '--experimental-vm-modules',
  '--experimental-detect-module',
  '--no-experimental-detect-module',
  '--experimental-require-module',
  '--no-experimental-require-module',
]);

/** Whether a loader option's value is tsx: `tsx`, `tsx/esm`, or a path or URL inside a `tsx` package. */
function isTsx(value: string): boolean {
  return /^tsx(\/[\w/.-]*)?$/.test(value) || /[\\/]node_modules[\\/]tsx[\\/]/.test(value);
}

/**
 * `execArgv` for a parapool thread: `undefined` (inherit, Node's default) unless
 * this process runs under tsx's loader and everything else in its `execArgv`
 * is known to be accepted by a worker; then the same options without tsx's.
 */
export function threadExecArgv(execArgv: readonly string[] = process.execArgv): string[] | undefined {
  const kept: string[] = [];
  let droppedTsx = false;
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] ?? '';
    const equals = arg.indexOf('=');
    const name = arg.startsWith('--') && equals > 0 ? arg.slice(0, equals) : arg;
    if (WITH_VALUE.has(name)) {
      const inline = name !== arg;
      const value = inline ? arg.slice(equals + 1) : execArgv[i + 1];
      if (value === undefined) return undefined;
      if (!inline) i++;
      if (LOADERS.has(name) && isTsx(value)) droppedTsx = true;
      else kept.push(arg, ...(inline ? [] : [value]));
    } else if (FLAGS.has(arg) || /^--unhandled-rejections=\w+$/.test(arg)) kept.push(arg);
    else return undefined;
  }
  return droppedTsx ? kept : undefined;
}
