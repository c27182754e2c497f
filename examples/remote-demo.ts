/**
 * `npm run demo:remote`: the primes map on two remote workers. It starts a
 * local redis-server (Debian's `redis-server` package) and two `parapool worker`
 * processes on this machine, as you would on other machines, runs the seeds'
 * prime map across them with `new Pool({ backend })`, and shows that the
 * result is the local pool's.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Pool, tasks } from 'parapool';
import { redisBackend } from 'parapool/remote';

const root = path.join(__dirname, '..');
const primes = tasks<typeof import('../workers/primes')>(path.join(root, 'workers/primes.ts'));
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function started(child: ChildProcess, ready: string): Promise<void> {
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes(ready)) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', () => reject(new Error(`${child.spawnfile} exited:\n${output}`)));
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function main(): Promise<void> {
  let redisServer: string;
  try {
    redisServer = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
  } catch {
    console.error('This demo needs redis-server: apt-get install redis-server');
    process.exitCode = 1;
    return;
  }
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parapool-demo-'));
  const redisArgs = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const redis = spawn(redisServer, [...redisArgs, '--maxmemory-policy', 'noeviction'], { stdio: 'pipe' });
  await started(redis, 'Ready to accept connections');
  console.log(`redis-server on ${url}`);

  const authkey = randomBytes(32).toString('hex');
  const keyFile = path.join(dir, 'parapool.key');
  writeFileSync(keyFile, authkey, { mode: 0o600 });
  const cli = path.join(root, 'dist/cjs/cli/main.js');
  const workerArgs = [
    'worker',
    '--redis',
    url,
    '--queue',
    'primes',
    '--root',
    root,
    '--tasks',
    'workers/primes.ts',
    '--authkey-file',
    keyFile,
  ];
  await Promise.all(
    [1, 2].map((n) => {
      const worker = spawn(process.execPath, [cli, ...workerArgs, '--threads', '1'], { stdio: 'pipe' });
      console.log(`worker ${n}: npx parapool ${workerArgs.join(' ')} --threads 1   (pid ${worker.pid})`);
      return started(worker, 'serving queue');
    }),
  );

  const numbers = Array.from({ length: 100_000 }, (_, i) => 1_000_000 + i);
  const backend = redisBackend({ connection: url, queue: 'primes', root, authkey });
  {
    await using pool = new Pool({ backend });
    while (pool.workers < 2) await new Promise((resolve) => setTimeout(resolve, 50));
    console.log(`remote pool: ${pool.workers} threads on ${new Set(children.slice(1).map((c) => c.pid)).size} worker processes`);
    let start = performance.now();
    const remoteFlags = await pool.map(primes.isPrime, numbers);
    const remoteMs = performance.now() - start;
    const remoteCount = remoteFlags.filter(Boolean).length;
    console.log(`  remote pool.map(isPrime, 1,000,000..1,100,000): ${remoteCount} primes in ${remoteMs.toFixed(0)} ms`);

    await using local = new Pool({ workers: 2 });
    start = performance.now();
    const localFlags = await local.map(primes.isPrime, numbers);
    console.log(`  local pool.map: ${localFlags.filter(Boolean).length} primes in ${(performance.now() - start).toFixed(0)} ms`);
    const same = localFlags.length === remoteFlags.length && localFlags.every((flag, i) => flag === remoteFlags[i]);
    console.log(same ? '  the same result, item by item' : '  MISMATCH between the remote and the local result!');
    if (!same) process.exitCode = 1;
  }
  for (const child of children.slice(1)) child.kill('SIGTERM');
  await Promise.all(children.slice(1).map((child) => new Promise((resolve) => child.once('exit', resolve))));
  redis.kill('SIGKILL');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
