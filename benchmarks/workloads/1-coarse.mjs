// Workload 1, coarse CPU (seeds 001/002): countPrimes over 4 × workers equal ranges of
// [0, N). Few, long tasks: what matters is using every core, so we report the speedup
// over the sequential loop and the parallel efficiency (speedup ÷ cores).
import { compare } from '../lib/measure.mjs';
import { loadWorkers, parapoolRunner, peerRunners, timeChecked } from '../lib/runners.mjs';
import { runPython } from '../lib/python.mjs';
import { finishRow, expectEqual } from '../lib/measure.mjs';

export const number = 1;
export const id = 'coarse';
export const title = 'Coarse CPU: countPrimes over 4 × workers ranges';
export const description =
  'Count the primes below N split into 4 × workers equal ranges, one task per range (the count_primes example of the multiprocessing tutorials). ' +
  'Speedup = sequential time ÷ parallel time; efficiency = speedup ÷ cores.';

/** π(N), the number of primes below N, for the sizes we run. */
const PRIME_COUNTS = { 1000000: 78_498, 2000000: 148_933, 5000000: 348_513 };

function splitRanges(limit, parts) {
  const step = Math.ceil(limit / parts);
  return Array.from({ length: parts }, (_, i) => [i * step, Math.min(limit, (i + 1) * step)]);
}

export async function run(ctx) {
  const limit = ctx.quick ? 2_000_000 : 5_000_000;
  const pythonLimit = 1_000_000;
  const warmup = 1;
  const repeats = ctx.quick ? 3 : 15;
  const ranges = splitRanges(limit, 4 * ctx.workers);
  const expected = PRIME_COUNTS[limit];
  const sum = (counts) => counts.reduce((a, b) => a + b, 0);
  const check = (counts) => expectEqual(sum(counts), expected, `primes below ${limit}`);
  const { primes } = loadWorkers(ctx.files);

  const runners = [
    { label: 'sequential loop', sample: () => timeChecked(() => ranges.map(([s, e]) => primes.countPrimes(s, e)), check) },
    parapoolRunner(ctx, 'parapool starmap', (pool, refs) => timeChecked(() => pool.starmap(refs.primes.countPrimes, ranges), check)),
    ...peerRunners(ctx, (runTask) => timeChecked(() => Promise.all(ranges.map((range) => runTask('countPrimes', range))), check)),
  ];
  const rows = await compare(runners, { warmup, repeats, log: ctx.log });

  const sequential = rows[0];
  for (const row of rows.slice(1)) {
    if (row.error || sequential.error) continue;
    const speedup = sequential.median / row.median;
    row.extra = { speedup: `${speedup.toFixed(2)}×`, efficiency: `${Math.round((speedup / ctx.workers) * 100)}%` };
  }
  const groups = [
    {
      title: `countPrimes below ${limit.toLocaleString('en-US')} in ${ranges.length} ranges, ${ctx.workers} workers`,
      unit: 'ms',
      better: 'lower',
      reference: 'parapool starmap',
      rows,
    },
  ];

  const notes = [];
  if (ctx.python) {
    const py = await runPython('coarse.py', [pythonLimit, 4 * ctx.workers, ctx.workers, ctx.quick ? 0 : 1, ctx.quick ? 1 : 3]);
    if (py.error) notes.push(`Python skipped: ${py.error}`);
    else {
      const pyRows = py.rows.map((row) => finishRow(row));
      const [pySeq, pyPar] = pyRows;
      const speedup = pySeq.median / pyPar.median;
      pyPar.extra = { speedup: `${speedup.toFixed(2)}×`, efficiency: `${Math.round((speedup / ctx.workers) * 100)}%` };
      groups.push({
        title: `Python ${py.python}: the same count_primes below ${pythonLimit.toLocaleString('en-US')} (pure Python is far slower, so a smaller N; compare efficiency, not time)`,
        unit: 'ms',
        better: 'lower',
        reference: pyRows[1].label,
        rows: pyRows,
      });
    }
  }

  const parapool = rows[1];
  const ratios = [];
  if (!parapool.error && !sequential.error) {
    const speedup = sequential.median / parapool.median;
    ratios.push({
      label: 'parapool speedup over the sequential loop',
      value: speedup,
      goal: `≥ ${(0.95 * ctx.workers).toFixed(2)} (0.95 × cores)`,
      met: speedup >= 0.95 * ctx.workers,
    });
    for (const row of rows.slice(2)) {
      if (!row.error) ratios.push({ label: `${row.label} time ÷ parapool time`, value: row.median / parapool.median });
    }
  }
  return { sizes: `N = ${limit.toLocaleString('en-US')}, ${ranges.length} ranges`, warmup, repeats, groups, ratios, notes };
}
