#!/usr/bin/env node
// Workload 9's TCP rows for two builds of parapool in one process, interleaved round by
// round (A/B on a shared machine, where back-to-back runs swing more than a change does):
// a connected manager's `d.set`/`d.get` awaited one by one, the same through `d.sync`
// (the relay thread's connection), and pipelined in batches of 1,000, from the main
// thread (its own TLS connection to a server in this process).
// `--base` is a copy of another build's dist/cjs (e.g. `npm run build && cp -r dist/cjs /tmp/base`
// on the commit to compare with); the other build is this checkout's dist/cjs.
//
//   npm run build && node benchmarks/experiments/manager-ab.mjs --base /tmp/base [--rounds 9] [--calls 2000]
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { loadParapool } from '../lib/parapool.mjs';
import { median } from '../lib/stats.mjs';
import { loadAverage } from '../lib/machine.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : process.argv[i + 1];
};
const ROUNDS = Number(arg('--rounds', 9));
const CALLS = Number(arg('--calls', 2000));
const BASE = arg('--base', undefined);
if (BASE === undefined) throw new Error('usage: manager-ab.mjs --base <dist/cjs of the build to compare with>');
const current = loadParapool();
if (current.error) throw new Error(current.error);
const builds = { base: createRequire(import.meta.url)(path.resolve(BASE, 'index.js')), this: current.mp };

async function client(mp) {
  const server = await mp.Manager.start({ address: { host: '127.0.0.1', port: 0 }, authkey: 'ab' });
  const m = await mp.Manager.connect({ address: server.address, authkey: 'ab' });
  const d = await m.dict();
  return {
    oneAtATime: async (n) => {
      const start = performance.now();
      for (let i = 0; i < n; i += 2) {
        await d.set('k', i);
        if ((await d.get('k')) !== i) throw new Error('lost write');
      }
      return n / ((performance.now() - start) / 1000);
    },
    syncMain: async (n) => {
      const start = performance.now();
      for (let i = 0; i < n; i += 2) {
        d.sync.set('k', i);
        if (d.sync.get('k') !== i) throw new Error('lost write');
      }
      return n / ((performance.now() - start) / 1000);
    },
    pipelined: async (n) => {
      const start = performance.now();
      for (let done = 0; done < n; done += 1000) {
        const calls = [];
        for (let i = 0; i < 1000; i += 2) calls.push(d.set('k', i), d.get('k'));
        await Promise.all(calls);
      }
      return n / ((performance.now() - start) / 1000);
    },
    close: async () => {
      await m.shutdown();
      await server.shutdown();
    },
  };
}

const clients = { base: await client(builds.base), this: await client(builds.this) };
const rows = ['oneAtATime', 'syncMain', 'pipelined'];
const rates = {};
for (const row of rows) for (const build of Object.keys(clients)) rates[`${row} ${build}`] = [];
const load = () => loadAverage();
console.log(`load average before: ${load()}`);
for (const c of Object.values(clients)) for (const row of rows) await c[row](CALLS / 4); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  // Alternate which build goes first, so neither always gets the warmer caches.
  const order = round % 2 === 0 ? ['base', 'this'] : ['this', 'base'];
  for (const row of rows) for (const build of order) rates[`${row} ${build}`].push(await clients[build][row](CALLS));
  process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
}
console.log(`load average after: ${load()}`);
console.log(`\n${CALLS} calls per sample, ${ROUNDS} rounds (calls/s)\n`);
console.log('| row | build | median | best |');
console.log('| --- | --- | ---: | ---: |');
for (const row of rows) {
  for (const build of Object.keys(clients)) {
    const r = rates[`${row} ${build}`];
    console.log(
      `| ${row} | ${build} | ${Math.round(median(r)).toLocaleString('en-US')} | ${Math.round(Math.max(...r)).toLocaleString('en-US')} |`,
    );
  }
  const ratio = median(rates[`${row} this`].map((x, i) => x / rates[`${row} base`][i]));
  console.log(`| ${row} | this ÷ base (median of per-round ratios) | ${ratio.toFixed(3)} | |`);
}
for (const c of Object.values(clients)) await c.close();
