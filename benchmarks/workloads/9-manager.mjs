// Workload 9, manager (seed 004's shared cache/registry): proxy calls per second on a
// managed dict, alternating set and get. parapool: blocking `d.sync` calls from a pool
// worker, async calls from the main thread (one at a time, and pipelined), and the
// same over TCP on loopback (TLS 1.3, a connected manager in this process). Python:
// multiprocessing.Manager().dict() driven from a child process.
import * as path from 'node:path';
import { compare, finishRow } from '../lib/measure.mjs';
import { BENCH_DIR } from '../lib/build.mjs';
import { runPython } from '../lib/python.mjs';

export const number = 9;
export const id = 'manager';
export const title = 'Manager: proxy calls per second on a managed dict';
export const description =
  'N calls alternating `d.set("k", i)` and `d.get("k")` on a `m.dict()`: blocking `d.sync` calls from a pool worker, ' +
  'async calls from the main thread awaited one by one and pipelined (batches of 1,000 in flight), and both over TCP ' +
  'on loopback through `Manager.connect` (TLS 1.3 PSK). Python: `Manager().dict()` from a child process.';

const TASKS_FILE = path.join(BENCH_DIR, 'tasks', 'manager.cjs');
const BATCH = 1000;

async function sequential(d, n) {
  const start = performance.now();
  for (let i = 0; i < n; i += 2) {
    await d.set('k', i);
    if ((await d.get('k')) !== i) throw new Error('lost write');
  }
  return n / ((performance.now() - start) / 1000);
}

async function pipelined(d, n) {
  const start = performance.now();
  for (let done = 0; done < n; done += BATCH) {
    const calls = [];
    for (let i = 0; i < BATCH; i += 2) calls.push(d.set('k', i), d.get('k'));
    await Promise.all(calls);
  }
  return n / ((performance.now() - start) / 1000);
}

export async function run(ctx) {
  const mp = ctx.parapool.mp;
  const missing = !mp ? ctx.parapool.error : mp.Manager === undefined ? 'parapool does not export `Manager` yet' : undefined;
  if (missing) return { skipped: missing };
  const warmup = 1;
  const repeats = ctx.quick ? 2 : 5;
  const calls = ctx.quick ? 4_000 : 20_000;
  const tcpCalls = ctx.quick ? 2_000 : 10_000;
  const work = mp.tasks(TASKS_FILE);
  const local = {
    setup: async () => {
      const m = await mp.Manager.start();
      const d = await m.dict();
      const pool = new mp.Pool({ workers: 1 });
      await pool.apply(work.syncCalls, [d, 2]);
      return { m, d, pool };
    },
    teardown: async ({ m, pool }) => {
      pool.close();
      await pool.join();
      await m.shutdown();
    },
  };
  const tcp = {
    setup: async () => {
      const server = await mp.Manager.start({ address: { host: '127.0.0.1', port: 0 }, authkey: 'bench' });
      const m = await mp.Manager.connect({ address: server.address, authkey: 'bench' });
      const d = await m.dict();
      return { server, m, d };
    },
    teardown: async ({ server, m }) => {
      await m.shutdown();
      await server.shutdown();
    },
  };
  const rows = await compare(
    [
      {
        label: 'parapool d.sync from a worker',
        ...local,
        sample: async ({ d, pool }) => {
          const start = performance.now();
          await pool.apply(work.syncCalls, [d, calls]);
          return calls / ((performance.now() - start) / 1000);
        },
      },
      { label: 'parapool async, one at a time (main thread)', ...local, sample: ({ d }) => sequential(d, calls) },
      { label: 'parapool async, pipelined (main thread)', ...local, sample: ({ d }) => pipelined(d, calls) },
      { label: 'parapool over TCP, one at a time', ...tcp, sample: ({ d }) => sequential(d, tcpCalls) },
      { label: 'parapool over TCP, pipelined', ...tcp, sample: ({ d }) => pipelined(d, tcpCalls) },
      {
        label: 'parapool over TCP, d.sync (main thread)',
        ...tcp,
        sample: ({ d }) => {
          const start = performance.now();
          for (let i = 0; i < tcpCalls; i += 2) {
            d.sync.set('k', i);
            d.sync.get('k');
          }
          return tcpCalls / ((performance.now() - start) / 1000);
        },
      },
    ],
    { warmup, repeats, log: ctx.log },
  );
  const group = {
    title: `${calls.toLocaleString('en-US')} proxy calls (TCP rows: ${tcpCalls.toLocaleString('en-US')})`,
    unit: 'calls/s',
    better: 'higher',
    reference: 'parapool d.sync from a worker',
    rows,
  };
  const notes = [];
  const ratios = [];
  if (ctx.python) {
    const py = await runPython('manager.py', [ctx.quick ? 2_000 : 10_000, warmup, ctx.quick ? 1 : 3]);
    if (py.error) notes.push(`Python skipped: ${py.error}`);
    else {
      const python = finishRow(py.rows[0]);
      group.rows.push(python);
      notes.push(`Python ${py.python}: a child Process calls d['k'] = i and d['k'] on a multiprocessing.Manager().dict().`);
      const [syncRow, , pipeRow, tcpRow, tcpPipeRow] = rows;
      // [row, label, goal as a multiple of Python's rate (none: shown only)]
      const against = [
        [syncRow, 'parapool sync from a worker ÷ Python', 5],
        [pipeRow, 'parapool async pipelined ÷ Python', 5],
        [tcpRow, 'parapool TCP one at a time ÷ Python', 1],
        [tcpPipeRow, 'parapool TCP pipelined ÷ Python', undefined],
      ];
      for (const [row, label, goal] of against) {
        if (row.error) continue;
        const value = row.median / python.median;
        ratios.push(goal === undefined ? { label, value } : { label, value, goal: `≥ ${goal}×`, met: value >= goal });
      }
    }
  }
  return { sizes: `${calls.toLocaleString('en-US')} calls`, warmup, repeats, groups: [group], ratios, notes };
}
