#!/usr/bin/env node
// Where a TCP round trip's time goes (issue 12): the CPU time each thread of this process
// spends per round trip, and how often it is switched in, from the kernel's per-thread
// scheduler counters (/proc/self/task/*/schedstat: Linux only), interleaved round by round:
// - Node, raw: a 30-byte echo over TLS 1.3 PSK between this thread and a worker thread's server;
// - parapool: a connected manager's `d.set`/`d.get` awaited one by one (this thread's own
//   TLS connection to the manager thread of a server in this process), for this checkout's
//   dist/cjs and, with `--base`, another build's.
// The difference between the two rows, thread by thread, is what parapool adds to the round trip.
//
//   npm run build && node benchmarks/experiments/manager-tcp-cpu.mjs [--base <dist/cjs>] [--rounds 5] [--calls 4000]
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { Worker } from 'node:worker_threads';
import { loadParapool } from '../lib/parapool.mjs';
import { median } from '../lib/stats.mjs';
import { loadAverage } from '../lib/machine.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : process.argv[i + 1];
};
const ROUNDS = Number(arg('--rounds', 5));
const CALLS = Number(arg('--calls', 4000));
const BASE = arg('--base', undefined);
const current = loadParapool();
if (current.error) throw new Error(current.error);

const PSK = Buffer.alloc(32, 7);
const TLS_OPTIONS = { minVersion: 'TLSv1.3', ciphers: 'TLS_AES_128_GCM_SHA256' };

/** Per thread: CPU ns, ns waiting to run, times switched in. */
function threads() {
  const out = new Map();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      const [cpu, waiting, switches] = fs.readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
      out.set(tid, { cpu, waiting, switches });
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

async function echo() {
  const worker = new Worker(
    `const tls = require('node:tls'); const { parentPort, workerData } = require('node:worker_threads');
     const server = tls.createServer({ ...workerData.options, pskCallback: () => Buffer.from(workerData.psk) }, (socket) => {
       socket.setNoDelay(true);
       socket.on('data', (chunk) => socket.write(chunk));
     });
     server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));`,
    { eval: true, workerData: { options: TLS_OPTIONS, psk: PSK } },
  );
  const port = await new Promise((resolve) => worker.once('message', resolve));
  const socket = tls.connect({
    host: '127.0.0.1',
    port,
    ...TLS_OPTIONS,
    checkServerIdentity: () => undefined,
    pskCallback: () => ({ psk: PSK, identity: 'x' }),
  });
  await new Promise((resolve) => socket.once('secureConnect', resolve));
  socket.setNoDelay(true);
  let answered;
  socket.on('data', () => answered());
  const payload = Buffer.alloc(30);
  return {
    run: async (n) => {
      for (let i = 0; i < n; i++) {
        await new Promise((resolve) => {
          answered = resolve;
          socket.write(payload);
        });
      }
    },
    close: async () => {
      socket.destroy();
      await worker.terminate();
    },
  };
}

async function manager(mp) {
  const server = await mp.Manager.start({ address: { host: '127.0.0.1', port: 0 }, authkey: 'cpu' });
  const m = await mp.Manager.connect({ address: server.address, authkey: 'cpu' });
  const d = await m.dict();
  return {
    run: async (n) => {
      for (let i = 0; i < n; i += 2) {
        await d.set('k', i);
        if ((await d.get('k')) !== i) throw new Error('lost write');
      }
    },
    close: async () => {
      await m.shutdown();
      await server.shutdown();
    },
  };
}

const runners = { 'Node raw echo, TLS 1.3 PSK': await echo(), 'parapool (this build)': await manager(current.mp) };
if (BASE !== undefined) runners['parapool (base)'] = await manager(createRequire(import.meta.url)(path.resolve(BASE, 'index.js')));
const samples = Object.fromEntries(Object.keys(runners).map((k) => [k, { rate: [], busy: [], second: [], switches: [] }]));
const load = () => loadAverage();
console.log(`load average before: ${load()}`);
for (const runner of Object.values(runners)) await runner.run(CALLS / 4); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  for (const [label, runner] of Object.entries(runners)) {
    const before = threads();
    const start = performance.now();
    await runner.run(CALLS);
    const ms = performance.now() - start;
    const after = threads();
    // The two busiest threads are the two ends of the round trip (this thread and the server's).
    const busy = [...after]
      .map(([tid, t]) => {
        const b = before.get(tid) ?? { cpu: 0, waiting: 0, switches: 0 };
        return { cpu: (t.cpu - b.cpu) / CALLS / 1000, switches: (t.switches - b.switches) / CALLS };
      })
      .sort((a, b) => b.cpu - a.cpu);
    const s = samples[label];
    s.rate.push(CALLS / (ms / 1000));
    s.busy.push(busy[0]?.cpu ?? 0);
    s.second.push(busy[1]?.cpu ?? 0);
    s.switches.push((busy[0]?.switches ?? 0) + (busy[1]?.switches ?? 0));
  }
  process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
}
console.log(`load average after: ${load()}`);
for (const runner of Object.values(runners)) await runner.close();
console.log(`\n${CALLS} round trips a sample, ${ROUNDS} rounds, medians\n`);
console.log('| runner | round trips/s | µs a round trip | CPU µs, busiest thread | CPU µs, next | switches in, both |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const [label, s] of Object.entries(samples)) {
  const rate = median(s.rate);
  console.log(
    `| ${label} | ${Math.round(rate).toLocaleString('en-US')} | ${(1e6 / rate).toFixed(1)} | ${median(s.busy).toFixed(1)} | ${median(s.second).toFixed(1)} | ${median(s.switches).toFixed(2)} |`,
  );
}
