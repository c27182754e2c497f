// Executor submit round trips (issue 3): 10,000 no-op `submit` calls, as a throughput
// (all in flight) and as serial round-trip latency, against raw piscina's `run` and
// Python's ProcessPoolExecutor.submit.
import { compare, expectEqual, finishRow, timed } from '../lib/measure.mjs';
import { peerRunners } from '../lib/runners.mjs';
import { runPython } from '../lib/python.mjs';

export const number = 8;
export const id = 'executor';
export const title = 'Executor: no-op submit round trips';
export const description =
  '`executor.submit(noop)` N times: throughput with every future in flight, then the latency of serial ' +
  "round trips (submit, await the future, repeat); raw piscina `run` and Python's ProcessPoolExecutor do the same.";

function executorRunner(ctx, label, job) {
  const mp = ctx.parapool.mp;
  if (!mp || typeof mp.Executor !== 'function') {
    return { label, setup: () => Promise.reject(new Error(ctx.parapool.error ?? 'no `Executor` export yet')), sample: () => 0 };
  }
  return {
    label,
    setup: async () => {
      const executor = new mp.Executor({ maxWorkers: ctx.workers });
      const noop = mp.tasks(ctx.files.js.math).noop;
      await Promise.all(Array.from({ length: ctx.workers * 2 }, () => executor.submit(noop)));
      return { executor, noop };
    },
    sample: (state) => job(state.executor, state.noop),
    teardown: (state) => state.executor.shutdown({ wait: true }),
  };
}

export async function run(ctx) {
  const warmup = 1;
  const repeats = ctx.quick ? 2 : 5;
  const submits = ctx.quick ? 2_000 : 10_000;
  const roundTrips = ctx.quick ? 500 : 2_000;

  const rate = async (call) => {
    const { ms, value } = await timed(() => Promise.all(Array.from({ length: submits }, call)));
    expectEqual(value.length, submits, 'results');
    return submits / (ms / 1000);
  };
  const latencies = async (call) => {
    const samples = new Array(roundTrips);
    for (let i = 0; i < roundTrips; i++) {
      const start = performance.now();
      await call();
      samples[i] = (performance.now() - start) * 1000;
    }
    return samples;
  };

  const throughputRows = await compare(
    [
      executorRunner(ctx, 'parapool Executor.submit', (executor, noop) => rate(() => executor.submit(noop))),
      ...peerRunners(ctx, (runTask) => rate(() => runTask('noop', null)), { peers: ['piscina'], labels: { piscina: 'piscina run' } }),
    ],
    { warmup, repeats, log: ctx.log },
  );
  const latencyRows = await compare(
    [
      executorRunner(ctx, 'parapool Executor.submit', (executor, noop) => latencies(() => executor.submit(noop))),
      ...peerRunners(ctx, (runTask) => latencies(() => runTask('noop', null)), { peers: ['piscina'], labels: { piscina: 'piscina run' } }),
    ].map((runner) => ({ ...runner, percentiles: true })),
    { warmup, repeats, log: ctx.log },
  );

  const groups = [
    {
      title: `${submits.toLocaleString('en-US')} no-op submits in flight at once`,
      unit: 'tasks/s',
      better: 'higher',
      reference: 'parapool Executor.submit',
      rows: throughputRows,
    },
    {
      title: `${roundTrips.toLocaleString('en-US')} serial no-op submit round trips`,
      unit: 'µs',
      better: 'lower',
      reference: 'parapool Executor.submit',
      rows: latencyRows,
    },
  ];
  const notes = [];
  if (ctx.python) {
    const py = await runPython('executor.py', [submits, roundTrips, ctx.workers, warmup, ctx.quick ? 1 : 3]);
    if (py.error) notes.push(`Python skipped: ${py.error}`);
    else {
      groups[0].rows.push(finishRow(py.rows[0]));
      groups[1].rows.push(finishRow(py.rows[1], true));
      notes.push(`Python ${py.python}: ProcessPoolExecutor(max_workers=${ctx.workers}).submit(noop).`);
    }
  }

  const ratios = [];
  const find = (rows, prefix) => rows.find((row) => row.label.startsWith(prefix) && !row.error);
  const [ours, piscina, python] = ['parapool', 'piscina', 'Python'].map(
    (prefix) => find(throughputRows, prefix) ?? find(groups[0].rows, prefix),
  );
  if (ours && piscina) ratios.push({ label: 'parapool submit rate ÷ piscina run rate', value: ours.median / piscina.median });
  if (ours && python)
    ratios.push({ label: 'parapool submit rate ÷ Python ProcessPoolExecutor submit rate', value: ours.median / python.median });
  const [ourLatency, piscinaLatency, pythonLatency] = ['parapool', 'piscina', 'Python'].map((prefix) => find(groups[1].rows, prefix));
  if (ourLatency && piscinaLatency)
    ratios.push({ label: 'parapool p50 latency ÷ piscina p50 latency', value: ourLatency.p50 / piscinaLatency.p50 });
  if (ourLatency && pythonLatency)
    ratios.push({ label: 'Python p50 latency ÷ parapool p50 latency', value: pythonLatency.p50 / ourLatency.p50 });
  return {
    sizes: `${submits.toLocaleString('en-US')} submits, ${roundTrips.toLocaleString('en-US')} serial round trips per repeat`,
    warmup,
    repeats,
    groups,
    ratios,
    notes,
  };
}
