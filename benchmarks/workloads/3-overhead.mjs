// Workload 3, per-task overhead (poolifier's own benchmark shape): many small tasks
// submitted one by one, then a no-op to isolate the pool's round-trip cost.
import { compare, expectEqual, finishRow, timed } from '../lib/measure.mjs';
import { loadWorkers, parapoolRunner, peerRunners, timeChecked } from '../lib/runners.mjs';
import { runPython } from '../lib/python.mjs';

export const number = 3;
export const id = 'overhead';
export const title = 'Per-task overhead: factorial(1000) tasks and no-op round trips';
export const description =
  'N tasks of factorial(1000) (a BigInt product, ≈ 0.1 ms each) submitted one by one at chunksize 1, ' +
  "as in poolifier's benchmark; then no-op tasks: throughput with all of them in flight, and the latency " +
  'of serial round trips (submit, await, repeat).';

const FACTORIAL_OF = 1000;

/** µs of each of `count` serial round trips of `call()`. */
async function serialLatencies(call, count) {
  const latencies = new Array(count);
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await call();
    latencies[i] = (performance.now() - start) * 1000;
  }
  return latencies;
}

/** Tasks per second of `count` calls of `call()` all in flight at once. */
async function throughput(call, count) {
  const { ms, value } = await timed(() => Promise.all(Array.from({ length: count }, call)));
  expectEqual(value.length, count, 'results');
  return count / (ms / 1000);
}

export async function run(ctx) {
  const warmup = 1;
  const repeats = ctx.quick ? 2 : 3;
  const factorialTasks = ctx.quick ? 10_000 : 100_000;
  const noopTasks = ctx.quick ? 5_000 : 20_000;
  const roundTrips = ctx.quick ? 500 : 2_000;
  const { math } = loadWorkers(ctx.files);
  const expected = math.factorial(FACTORIAL_OF);
  const inputs = new Array(factorialTasks).fill(FACTORIAL_OF);
  const warmInputs = inputs.slice(0, Math.min(inputs.length, 10_000));
  const checkFactorials = (results) => {
    if (results.length !== warmInputs.length) expectEqual(results.length, factorialTasks, 'result count');
    expectEqual(results[0], expected, 'factorial(1000)');
    expectEqual(results[results.length - 1], expected, 'factorial(1000)');
  };

  ctx.log('  factorial(1000) tasks');
  // A full round of 100,000 tasks per runner just to warm up would double this
  // workload's time: instead each runner is primed once on the first 10,000 inputs.
  let batch = warmInputs;
  const factorialRows = await compare(
    [
      { label: 'sequential loop', sample: () => timeChecked(() => batch.map((n) => math.factorial(n)), checkFactorials) },
      parapoolRunner(ctx, 'parapool map (chunksize 1)', (pool, refs) =>
        timeChecked(() => pool.map(refs.math.factorial, batch, { chunksize: 1 }), checkFactorials),
      ),
      parapoolRunner(ctx, 'parapool apply per task', (pool, refs) =>
        timeChecked(() => Promise.all(batch.map((n) => pool.apply(refs.math.factorial, [n]))), checkFactorials),
      ),
      parapoolRunner(ctx, 'parapool map (default)', (pool, refs) =>
        timeChecked(() => pool.map(refs.math.factorial, batch), checkFactorials),
      ),
      ...peerRunners(ctx, (runTask) => timeChecked(() => Promise.all(batch.map((n) => runTask('factorial', n))), checkFactorials)),
    ].map((runner) => ({ ...runner, prime: 1 })),
    { warmup: 0, repeats, log: ctx.log, onTimedStart: () => (batch = inputs) },
  );
  for (const row of factorialRows)
    if (!row.error) row.extra = { 'tasks/s': Math.round(factorialTasks / (row.median / 1000)).toLocaleString('en-US') };

  ctx.log('  no-op throughput');
  const throughputRows = await compare(
    [
      parapoolRunner(ctx, 'parapool apply per task', (pool, refs) => throughput(() => pool.apply(refs.math.noop, []), noopTasks)),
      parapoolRunner(ctx, 'parapool map (chunksize 1)', async (pool, refs) => {
        const { ms, value } = await timed(() => pool.map(refs.math.noop, new Array(noopTasks).fill(0), { chunksize: 1 }));
        expectEqual(value.length, noopTasks, 'results');
        return noopTasks / (ms / 1000);
      }),
      ...peerRunners(ctx, (runTask) => throughput(() => runTask('noop', null), noopTasks)),
    ],
    { warmup, repeats, log: ctx.log },
  );

  ctx.log('  no-op serial latency');
  const latencyRunners = [
    parapoolRunner(ctx, 'parapool apply', (pool, refs) => serialLatencies(() => pool.apply(refs.math.noop, []), roundTrips)),
    ...peerRunners(ctx, (runTask) => serialLatencies(() => runTask('noop', null), roundTrips)),
  ].map((runner) => ({ ...runner, percentiles: true }));
  const latencyRows = await compare(latencyRunners, { warmup, repeats, log: ctx.log });

  const groups = [
    {
      title: `${factorialTasks.toLocaleString('en-US')} × factorial(${FACTORIAL_OF}), ${ctx.workers} workers`,
      unit: 'ms',
      better: 'lower',
      reference: 'parapool map (chunksize 1)',
      rows: factorialRows,
    },
    {
      title: `${noopTasks.toLocaleString('en-US')} no-op tasks in flight at once`,
      unit: 'tasks/s',
      better: 'higher',
      reference: 'parapool apply per task',
      rows: throughputRows,
    },
    {
      title: `${roundTrips.toLocaleString('en-US')} serial no-op round trips`,
      unit: 'µs',
      better: 'lower',
      reference: 'parapool apply',
      rows: latencyRows,
    },
  ];

  const notes = [];
  if (ctx.python) {
    const pyFactorial = ctx.quick ? factorialTasks : 20_000;
    const py = await runPython('overhead.py', [
      FACTORIAL_OF,
      pyFactorial,
      noopTasks,
      roundTrips,
      ctx.workers,
      ctx.quick ? 0 : 1,
      ctx.quick ? 1 : 3,
    ]);
    if (py.error) notes.push(`Python skipped: ${py.error}`);
    else {
      const [factorialRow, throughputRow, latencyRow] = py.rows;
      const pyFactorialRow = finishRow(factorialRow);
      // Scale Python's smaller run to the same task count, so the row compares; it is linear in N.
      const scale = factorialTasks / pyFactorial;
      for (const key of ['median', 'min', 'max']) pyFactorialRow[key] *= scale;
      pyFactorialRow.samples = pyFactorialRow.samples.map((sample) => sample * scale);
      pyFactorialRow.extra = { 'tasks/s': Math.round(factorialTasks / (pyFactorialRow.median / 1000)).toLocaleString('en-US') };
      groups[0].rows.push(pyFactorialRow);
      if (scale !== 1)
        notes.push(
          `Python ran ${pyFactorial.toLocaleString('en-US')} factorial tasks; its row is scaled ×${scale} to ${factorialTasks.toLocaleString('en-US')}.`,
        );
      groups[1].rows.push(finishRow(throughputRow));
      groups[2].rows.push(finishRow(latencyRow, true));
      notes.push(`Python ${py.python}: multiprocessing.Pool.map(chunksize=1), Pool.apply_async per task, and serial Pool.apply.`);
    }
  }

  const ratios = [];
  const find = (rows, label) => rows.find((row) => row.label === label && !row.error);
  const mapOne = find(factorialRows, 'parapool map (chunksize 1)');
  const piscina = find(factorialRows, 'piscina');
  if (mapOne && piscina) {
    const ratio = mapOne.median / piscina.median;
    ratios.push({
      label: 'parapool map (chunksize 1) time ÷ raw piscina time, factorial',
      value: ratio,
      goal: '≤ 1.10',
      met: ratio <= 1.1,
    });
  }
  if (mapOne) {
    for (const peer of ['tinypool', 'workerpool', 'poolifier']) {
      const row = find(factorialRows, peer);
      if (row)
        ratios.push({
          label: `${peer} time ÷ parapool map (chunksize 1) time, factorial`,
          value: row.median / mapOne.median,
          goal: '> 1 (parapool ahead)',
          met: row.median > mapOne.median,
        });
    }
  }
  // Rates, so time ratios are inverted: parapool's time ÷ the peer's time = the peer's rate ÷ parapool's.
  const mapOneRate = find(throughputRows, 'parapool map (chunksize 1)');
  for (const [peer, goal] of [
    ['piscina', undefined],
    ['poolifier', 1],
  ]) {
    const row = find(throughputRows, peer);
    if (!mapOneRate || !row) continue;
    const value = row.median / mapOneRate.median;
    ratios.push({
      label: `no-op tasks: parapool map (chunksize 1) time ÷ ${peer} time`,
      value,
      ...(goal === undefined ? {} : { goal: `≤ ${goal}`, met: value <= goal }),
    });
  }
  const applyRate = find(throughputRows, 'parapool apply per task');
  const piscinaRate = find(throughputRows, 'piscina');
  if (applyRate && piscinaRate)
    ratios.push({ label: 'piscina no-op rate ÷ parapool apply no-op rate', value: piscinaRate.median / applyRate.median });
  const applyLatency = find(latencyRows, 'parapool apply');
  const piscinaLatency = find(latencyRows, 'piscina');
  if (applyLatency && piscinaLatency)
    ratios.push({ label: 'parapool apply p50 latency ÷ piscina p50 latency', value: applyLatency.p50 / piscinaLatency.p50 });
  return {
    sizes: `${factorialTasks.toLocaleString('en-US')} factorial tasks (each runner primed on ${warmInputs.length.toLocaleString('en-US')} of them instead of a warm-up round), ${noopTasks.toLocaleString('en-US')} no-op tasks, ${roundTrips.toLocaleString('en-US')} serial round trips per repeat`,
    warmup,
    repeats,
    groups,
    ratios,
    notes,
  };
}
