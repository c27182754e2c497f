/**
 * Real Redis and real worker processes for the remote specs, on one machine:
 * each spec file starts its own redis-server on a free port of 127.0.0.1
 * (no persistence, noeviction) and worker processes with the CLI (from the TS
 * sources through tsx), and kills every one of them by pid however the file ends.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';

export const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'lib', 'cli', 'main.ts');

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** redis-server's path, or undefined. Under CI=true a missing redis-server fails the spec instead of skipping it. */
export function redisServerPath(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** `describe`, or `describe.skip` when redis-server is missing outside CI (in CI the specs run and fail). */
export function describeRemote(name: string, body: () => void): void {
  (redisServerPath() === undefined && process.env.CI !== 'true' ? describe.skip : describe)(name, body);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  /** stderr so far. */
  output(): string;
  /** Resolves when stderr contains `text`. */
  waitFor(text: string | RegExp): Promise<void>;
  readonly exited: Promise<void>;
  kill(signal?: NodeJS.Signals): void;
}

function track(child: ChildProcess): Child {
  children.add(child);
  let output = '';
  const waiters: { test: (text: string) => boolean; resolve: () => void }[] = [];
  const onData = (chunk: Buffer): void => {
    output += chunk.toString();
    for (const waiter of [...waiters]) {
      if (waiter.test(output)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  child.stderr?.on('data', onData);
  child.stdout?.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => children.delete(child));
  return {
    process: child,
    pid: child.pid!,
    output: () => output,
    waitFor(text) {
      const test = (all: string): boolean => (typeof text === 'string' ? all.includes(text) : text.test(all));
      if (test(output)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        waiters.push({ test, resolve });
        void exited.then(() => {
          if (!test(output)) reject(new Error(`process ${child.pid} exited before printing ${text}:\n${output}`));
        });
      });
    },
    exited,
    kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly child: Child;
  /** A fresh client (the caller quits it). */
  client(): Redis;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  const binary = redisServerPath();
  if (binary === undefined) throw new Error('redis-server is not installed (apt-get install redis-server); the remote specs need it');
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parapool-redis-'));
  const child = track(
    spawn(
      binary,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--dir', dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  await child.waitFor('Ready to accept connections');
  const url = `redis://127.0.0.1:${port}`;
  return {
    url,
    port,
    child,
    client: () => new Redis(url, { maxRetriesPerRequest: 1 }),
    async stop() {
      child.kill('SIGKILL');
      await child.exited;
    },
  };
}

/** A file holding `key`, for --authkey-file. */
export function keyFile(key: string): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'parapool-key-')), 'parapool.key');
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return file;
}

export interface WorkerOptions {
  readonly redis: string;
  readonly queue: string;
  readonly root?: string;
  readonly tasks: readonly string[];
  readonly threads?: number;
  readonly authkeyFile: string;
  readonly extra?: readonly string[];
}

/** Starts `parapool worker` (TS sources through tsx) and resolves once it serves the queue. */
export async function startWorker(options: WorkerOptions): Promise<Child> {
  const args = [
    '--import',
    'tsx',
    CLI,
    'worker',
    '--redis',
    options.redis,
    '--queue',
    options.queue,
    '--root',
    options.root ?? ROOT,
    ...options.tasks.flatMap((file) => ['--tasks', file]),
    '--threads',
    String(options.threads ?? 2),
    '--authkey-file',
    options.authkeyFile,
    // A dead worker's job runs again once its lock expires and a stall check sees it. The lock stays 2 s
    // (renewed every 1 s: a busy machine delays no renewal that long); the stall check only asks whether
    // the lock still exists, so checking twice a second finds a dead worker sooner and a live one never.
    '--lock-duration',
    '2000',
    '--stalled-interval',
    '500',
    ...(options.extra ?? []),
  ];
  const child = track(spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  await child.waitFor('serving queue');
  return child;
}

/** Kills every process this file started. */
export async function killAll(): Promise<void> {
  const all = [...children];
  for (const child of all) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(
    all.map(
      (child) =>
        new Promise<void>((resolve) =>
          child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
        ),
    ),
  );
}

/** Polls `check` (on every setImmediate/50 ms) until it holds. */
export async function until(check: () => boolean | Promise<boolean>, what: string, limitMs = 15000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > limitMs) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
