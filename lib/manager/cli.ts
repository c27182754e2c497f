/**
 * `parapool manager --listen HOST:PORT --register ./types.ts --authkey-file F`:
 * a manager server in this process. `--register` (repeatable) registers every
 * class the module exports under its export name; the key is the file's
 * bytes. Once it accepts connections it prints one line,
 * `parapool manager listening on HOST:PORT` (the real port when given 0), and
 * serves until SIGINT or SIGTERM (exit code 0), a client's `shutdown` (0), or
 * the manager thread crashing (1, with the error on stderr).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidArgumentError } from '../errors';
import { type ClassRef, classRef, Manager, managerEnded } from './manager';

const USAGE = 'usage: parapool manager --listen HOST:PORT --register ./types.ts [--register …] --authkey-file FILE';

interface Parsed {
  host: string;
  port: number;
  modules: string[];
  authkeyFile: string;
}

function parseListen(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(value);
  const port = match === null ? Number.NaN : Number(match[3]);
  if (match === null || !Number.isInteger(port) || port > 65535)
    throw new InvalidArgumentError(`--listen takes HOST:PORT, got ${JSON.stringify(value)}`);
  return { host: (match[1] ?? match[2])!, port };
}

function parse(args: readonly string[]): Parsed {
  let listen: { host: string; port: number } | undefined;
  let authkeyFile: string | undefined;
  const modules: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    const [name, inline] = flag.includes('=') ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)] : [flag, undefined];
    const value = inline ?? args[++i];
    if (value === undefined) throw new InvalidArgumentError(`${name} needs a value\n${USAGE}`);
    if (name === '--listen') listen = parseListen(value);
    else if (name === '--register') modules.push(path.resolve(value));
    else if (name === '--authkey-file') authkeyFile = path.resolve(value);
    else throw new InvalidArgumentError(`unknown option ${name}\n${USAGE}`);
  }
  if (listen === undefined || authkeyFile === undefined) throw new InvalidArgumentError(USAGE);
  return { ...listen, modules, authkeyFile };
}

/** The classes a module exports, by export name. */
function exportedClasses(file: string): Record<string, ClassRef> {
  if (/\.[cm]?tsx?$/.test(file)) (require('tsx/cjs/api') as { register(): unknown }).register();
  const exports = require(file) as Record<string, unknown>;
  const types: Record<string, ClassRef> = {};
  for (const [name, value] of Object.entries(exports)) {
    if (typeof value === 'function' && /^class\b/.test(Function.prototype.toString.call(value)))
      types[name] = classRef(pathToFileURL(file), name);
  }
  return types;
}

export async function main(args: readonly string[]): Promise<number> {
  const options = parse(args);
  const authkey = new Uint8Array(fs.readFileSync(options.authkeyFile));
  if (authkey.length === 0) throw new InvalidArgumentError(`--authkey-file ${options.authkeyFile} is empty`);
  let types: Record<string, ClassRef> = {};
  for (const file of options.modules) types = { ...types, ...exportedClasses(file) };
  const manager = await Manager.register(types).start({ address: { host: options.host, port: options.port }, authkey });
  const address = manager.address!;
  const shown = address.host.includes(':') ? `[${address.host}]` : address.host;
  process.stdout.write(`parapool manager listening on ${shown}:${address.port}\n`);
  // The manager thread does not hold the process open by itself: serve until told to stop, or until it ends.
  const keepAlive = setInterval(() => {}, 2 ** 30);
  const signalled = new Promise<'signal'>((resolve) => {
    process.once('SIGINT', () => resolve('signal'));
    process.once('SIGTERM', () => resolve('signal'));
  });
  const outcome = await Promise.race([signalled, managerEnded(manager)]);
  clearInterval(keepAlive);
  if (outcome === 'signal') {
    await manager.shutdown();
    return 0;
  }
  if (outcome.code === 0) {
    // A client called the root's shutdown().
    process.stderr.write('parapool manager: shut down by a client\n');
    return 0;
  }
  const error = outcome.error;
  const why = error instanceof Error ? (error.stack ?? error.message) : error === undefined ? 'no error was reported' : String(error);
  process.stderr.write(`parapool manager: the manager thread crashed (exit code ${outcome.code}): ${why}\n`);
  return 1;
}
