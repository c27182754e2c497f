/**
 * `parapool worker`: starts a remote worker process (see worker.ts and
 * docs/remote.md). Flags:
 *
 *   --redis URL --queue Q --root DIR --tasks F [--tasks F2 ...] --threads N --authkey-file F
 *   [--initializer F#name --initargs JSON] [--max-tasks-per-child N]
 *   [--prefix bull] [--lock-duration 5000] [--stalled-interval 5000]
 */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../errors';
import { RemoteWorker, type WorkerSettings } from './worker';

const USAGE = `usage: parapool worker --redis URL --queue Q --root DIR --tasks FILE [--tasks FILE ...]
                       --threads N --authkey-file FILE
                       [--initializer FILE#name] [--initargs JSON] [--max-tasks-per-child N]
                       [--prefix bull] [--lock-duration MS] [--stalled-interval MS]`;

function integer(flag: string, text: string | undefined, fallback: number | undefined, min: number): number | undefined {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new InvalidArgumentError(`--${flag} takes an integer from ${min}, got ${text}`);
  return value;
}

/** The settings of `parapool worker <args>`; throws ERR_INVALID_ARG with the usage for bad flags. */
export function parseWorkerArgs(args: readonly string[]): WorkerSettings {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(args).values;
  } catch (error) {
    throw new InvalidArgumentError(`${(error as Error).message}\n${USAGE}`);
  }
  const missing = ['redis', 'queue', 'root', 'tasks', 'authkey-file'].filter((flag) => values[flag as keyof typeof values] === undefined);
  if (missing.length > 0) throw new InvalidArgumentError(`missing ${missing.map((flag) => `--${flag}`).join(', ')}\n${USAGE}`);
  const root = path.resolve(values.root!);
  const authkey = readFileSync(values['authkey-file']!);
  const key = authkey.toString('utf8').trim();
  if (key.length === 0) throw new InvalidArgumentError(`--authkey-file ${values['authkey-file']} is empty`);
  let initializer: WorkerSettings['initializer'];
  if (values.initializer !== undefined) {
    const hash = values.initializer.lastIndexOf('#');
    const file = hash < 0 ? values.initializer : values.initializer.slice(0, hash);
    initializer = { file: path.resolve(root, file), name: hash < 0 ? 'default' : values.initializer.slice(hash + 1) };
  }
  let initargs: unknown[] | undefined;
  if (values.initargs !== undefined) {
    try {
      initargs = JSON.parse(values.initargs) as unknown[];
    } catch (error) {
      throw new InvalidArgumentError(`--initargs takes a JSON array: ${(error as Error).message}`);
    }
    if (!Array.isArray(initargs)) throw new InvalidArgumentError('--initargs takes a JSON array');
  }
  return {
    redis: values.redis!,
    queue: values.queue!,
    prefix: values.prefix ?? 'bull',
    root,
    tasks: values.tasks!,
    threads: integer('threads', values.threads, os.availableParallelism(), 1)!,
    authkey: Buffer.from(key, 'utf8'),
    initializer,
    initargs,
    maxTasksPerChild: integer('max-tasks-per-child', values['max-tasks-per-child'], undefined, 1),
    lockDuration: integer('lock-duration', values['lock-duration'], 5000, 100)!,
    stalledInterval: integer('stalled-interval', values['stalled-interval'], 5000, 100)!,
    log: (line) => process.stderr.write(`${line}\n`),
  };
}

function parse(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    strict: true,
    options: {
      redis: { type: 'string' },
      queue: { type: 'string' },
      root: { type: 'string' },
      tasks: { type: 'string', multiple: true },
      threads: { type: 'string' },
      'authkey-file': { type: 'string' },
      initializer: { type: 'string' },
      initargs: { type: 'string' },
      'max-tasks-per-child': { type: 'string' },
      prefix: { type: 'string' },
      'lock-duration': { type: 'string' },
      'stalled-interval': { type: 'string' },
    },
  });
}

/** Runs `parapool worker <args>` until SIGTERM or SIGINT; resolves with the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  let settings: WorkerSettings;
  try {
    settings = parseWorkerArgs(args);
  } catch (error) {
    process.stderr.write(`parapool worker: ${(error as Error).message}\n`);
    return 2;
  }
  const worker = new RemoteWorker(settings);
  await worker.start();
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      void worker.close().then(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}
