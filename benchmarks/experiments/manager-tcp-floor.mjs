#!/usr/bin/env node
// Workload 9's TCP row against its floor (issue 12): round trips per second, one at a
// time, interleaved round by round in one run:
// - parapool: a connected manager's `d.set`/`d.get` awaited one by one (the main
//   thread's own TLS connection to the server's manager thread in this process);
// - Node, raw: a 30-byte echo between this thread and a worker thread's server, over
//   plain TCP and over TLS 1.3 PSK (the event-loop round trip any Node client pays);
// - Python: a 30-byte echo between two processes on blocking sockets, and
//   `multiprocessing.Manager().dict()` calls (workload 9's Python row).
//
//   npm run build && node benchmarks/experiments/manager-tcp-floor.mjs [--rounds 5] [--calls 4000]
import { spawnSync } from 'node:child_process';
import * as tls from 'node:tls';
import * as net from 'node:net';
import { Worker } from 'node:worker_threads';
import { loadParapool } from '../lib/parapool.mjs';
import { median } from '../lib/stats.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const ROUNDS = arg('--rounds', 5);
const CALLS = arg('--calls', 4000);
const parapool = loadParapool();
if (parapool.error) throw new Error(parapool.error);
const mp = parapool.mp;

const PSK = Buffer.alloc(32, 7);
const TLS_OPTIONS = { minVersion: 'TLSv1.3', ciphers: 'TLS_AES_128_GCM_SHA256' };

/** An echo server in a worker thread; resolves with its port. */
function echoServer(useTls) {
  const worker = new Worker(
    `const tls = require('node:tls'); const net = require('node:net'); const { parentPort, workerData } = require('node:worker_threads');
     const onSocket = (socket) => { socket.setNoDelay(true); socket.on('data', (chunk) => socket.write(chunk)); };
     const server = workerData.tls
       ? tls.createServer({ ...workerData.options, pskCallback: () => Buffer.from(workerData.psk) }, onSocket)
       : net.createServer(onSocket);
     server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));`,
    { eval: true, workerData: { tls: useTls, options: TLS_OPTIONS, psk: PSK } },
  );
  return new Promise((resolve) => worker.once('message', (port) => resolve({ port, worker })));
}

async function echoClient(useTls) {
  const { port, worker } = await echoServer(useTls);
  const socket = useTls
    ? tls.connect({
        host: '127.0.0.1',
        port,
        ...TLS_OPTIONS,
        checkServerIdentity: () => undefined,
        pskCallback: () => ({ psk: PSK, identity: 'x' }),
      })
    : net.connect({ host: '127.0.0.1', port });
  await new Promise((resolve) => socket.once(useTls ? 'secureConnect' : 'connect', resolve));
  socket.setNoDelay(true);
  let answered;
  socket.on('data', () => answered());
  const payload = Buffer.alloc(30);
  return {
    sample: async (n) => {
      const start = performance.now();
      for (let i = 0; i < n; i++) {
        await new Promise((resolve) => {
          answered = resolve;
          socket.write(payload);
        });
      }
      return n / ((performance.now() - start) / 1000);
    },
    close: async () => {
      socket.destroy();
      await worker.terminate();
    },
  };
}

async function managerClient() {
  const server = await mp.Manager.start({ address: { host: '127.0.0.1', port: 0 }, authkey: 'floor' });
  const m = await mp.Manager.connect({ address: server.address, authkey: 'floor' });
  const d = await m.dict();
  return {
    sample: async (n) => {
      const start = performance.now();
      for (let i = 0; i < n; i += 2) {
        await d.set('k', i);
        if ((await d.get('k')) !== i) throw new Error('lost write');
      }
      return n / ((performance.now() - start) / 1000);
    },
    close: async () => {
      await m.shutdown();
      await server.shutdown();
    },
  };
}

const PYTHON = `
import multiprocessing, os, socket, sys, time
n = int(sys.argv[1])
def echo(listener):
    conn, _ = listener.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        data = conn.recv(100)
        if not data: return
        conn.sendall(data)
def dict_calls(d, n, out):
    start = time.perf_counter()
    for i in range(0, n, 2):
        d['k'] = i
        d['k']
    out.put(n / (time.perf_counter() - start))
if __name__ == '__main__':
    listener = socket.socket(); listener.bind(('127.0.0.1', 0)); listener.listen(1)
    server = multiprocessing.Process(target=echo, args=(listener,)); server.start()
    client = socket.create_connection(listener.getsockname()); client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    start = time.perf_counter()
    for i in range(n):
        client.sendall(b'x' * 30); client.recv(100)
    raw = n / (time.perf_counter() - start)
    client.close(); server.join()
    with multiprocessing.Manager() as manager:
        d = manager.dict(); out = multiprocessing.Queue()
        child = multiprocessing.Process(target=dict_calls, args=(d, n, out)); child.start()
        calls = out.get(); child.join()
    print(raw, calls)
`;
import { loadAverage } from '../lib/machine.mjs';

function python(n) {
  const run = spawnSync(process.env.PYTHON ?? 'python3', ['-c', PYTHON, String(n)], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`python failed: ${run.stderr}`);
  const [raw, calls] = run.stdout.trim().split(/\s+/).map(Number);
  return { raw, calls };
}

const runners = {
  'parapool over TCP, one at a time': await managerClient(),
  'Node raw echo, TCP (thread to thread)': await echoClient(false),
  'Node raw echo, TLS 1.3 PSK (thread to thread)': await echoClient(true),
};
const rates = Object.fromEntries(
  [...Object.keys(runners), 'Python raw echo (process to process)', 'Python Manager().dict()'].map((k) => [k, []]),
);
console.log(`load average before: ${loadAverage()}`);
for (const runner of Object.values(runners)) await runner.sample(CALLS / 4); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  for (const [label, runner] of Object.entries(runners)) rates[label].push(await runner.sample(CALLS));
  const py = python(CALLS);
  rates['Python raw echo (process to process)'].push(py.raw);
  rates['Python Manager().dict()'].push(py.calls);
  process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
}
for (const runner of Object.values(runners)) await runner.close();
console.log(`load average after: ${loadAverage()}`);
const pythonManager = median(rates['Python Manager().dict()']);
console.log(`\n${CALLS} round trips a sample, ${ROUNDS} rounds, median (best)\n`);
console.log('| runner | round trips/s | best | ÷ Python Manager |');
console.log('| --- | ---: | ---: | ---: |');
for (const [label, values] of Object.entries(rates)) {
  const mid = median(values);
  console.log(
    `| ${label} | ${Math.round(mid).toLocaleString('en-US')} | ${Math.round(Math.max(...values)).toLocaleString('en-US')} | ${(mid / pythonManager).toFixed(2)}× |`,
  );
}
