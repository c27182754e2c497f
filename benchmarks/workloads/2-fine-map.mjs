// Workload 2, fine-grained map (seed 003, "Pool.map() - The Workhorse"): isPrime over
// every integer in [1,000,000, 1,100,000). Each item is well under a microsecond of
// work, so the per-item cost of a pool decides everything: this is where chunking pays.
import { compare, expectEqual, finishRow } from '../lib/measure.mjs';
import { loadWorkers, parapoolRunner, peerRunners, timeChecked } from '../lib/runners.mjs';
import { runPython } from '../lib/python.mjs';
import { createHandwrittenPool, HANDWRITTEN_CHUNK } from '../peers/handwritten-pool.mjs';

export const number = 2;
export const id = 'fine-map';
export const title = 'Fine-grained map: isPrime over 1,000,000..1,100,000';
export const description =
  'isPrime on each of 100,000 consecutive integers (the Pool.map tutorial example), results in input order. ' +
  "parapool `map` at its default options (self-scheduled ranges of the packed input), at Python's default chunksize " +
  "given explicitly (one task per chunk) and at chunksize 1, against the sequential loop, each peer's " +
  'one-task-per-item API, raw piscina/tinypool given the same chunks by hand, and the hand-written limit: ' +
  'pre-started raw workers that take chunks off an atomic counter over a SharedArrayBuffer input and write ' +
  'their results in place (benchmarks/peers/handwritten-pool.mjs).';

const FIRST = 1_000_000;
const HANDWRITTEN = `hand-written limit (SAB + Atomics, self-scheduled chunks of ${HANDWRITTEN_CHUNK})`;
// A given chunksize keeps one task per chunk: the path every map took before the self-scheduled default.
const CHUNKED = "parapool map (Python's default chunksize given: one task per chunk)";

export async function run(ctx) {
  const warmup = 1;
  const repeats = ctx.quick ? 2 : 5;
  const BATCH = ctx.quick ? 3 : 10;
  // --quick keeps CI under two minutes: the per-item peers take seconds per 100,000 tasks.
  const END = ctx.quick ? 1_020_000 : 1_100_000;
  const numbers = Array.from({ length: END - FIRST }, (_, i) => FIRST + i);
  const { primes } = loadWorkers(ctx.files);
  const expectedPrimes = numbers.filter((n) => primes.isPrime(n)).length; // 7,216 for the full range
  // Python's default chunksize for Pool.map: ceil(n / (4 × workers)).
  const chunksize = Math.ceil(numbers.length / (4 * ctx.workers));
  const chunks = [];
  for (let i = 0; i < numbers.length; i += chunksize) chunks.push(numbers.slice(i, i + chunksize));
  const check = (flags) => {
    expectEqual(flags.length, numbers.length, 'result length');
    expectEqual(flags.filter(Boolean).length, expectedPrimes, 'primes in range');
    expectEqual(flags[3], true, 'isPrime(1,000,003)');
  };

  // The runners that take milliseconds get 10 extra untimed runs; the per-item ones
  // (seconds per run, 100,000 calls each) are warm after their warm-up round.
  // Each round of these takes BATCH maps (a handful of samples at 10-50 ms each would leave the median to
  // the machine's noise); priming runs 2 rounds untimed.
  const primed = (runner) => ({
    ...runner,
    prime: 2,
    sample: async (state) => {
      const times = [];
      for (let i = 0; i < BATCH; i++) times.push(await runner.sample(state));
      return times;
    },
  });
  const runners = [
    primed({ label: 'sequential loop', sample: () => timeChecked(() => numbers.map((n) => primes.isPrime(n)), check) }),
    primed({
      label: HANDWRITTEN,
      setup: () => createHandwrittenPool(ctx.workers),
      sample: (pool) => timeChecked(() => pool.mapIsPrime(numbers), check),
      teardown: (pool) => pool.destroy(),
    }),
    primed(parapoolRunner(ctx, 'parapool map (default)', (pool, refs) => timeChecked(() => pool.map(refs.primes.isPrime, numbers), check))),
    primed(parapoolRunner(ctx, CHUNKED, (pool, refs) => timeChecked(() => pool.map(refs.primes.isPrime, numbers, { chunksize }), check))),
    parapoolRunner(ctx, 'parapool map (chunksize 1)', (pool, refs) =>
      timeChecked(() => pool.map(refs.primes.isPrime, numbers, { chunksize: 1 }), check),
    ),
    ...peerRunners(ctx, (runTask) => timeChecked(() => Promise.all(numbers.map((n) => runTask('isPrime', n))), check), {
      labels: {
        piscina: 'piscina, one task per item',
        tinypool: 'tinypool, one task per item',
        workerpool: 'workerpool, one task per item',
        poolifier: 'poolifier, one task per item',
      },
    }),
    ...peerRunners(
      ctx,
      async (runTask) => timeChecked(async () => (await Promise.all(chunks.map((chunk) => runTask('isPrimeChunk', chunk)))).flat(), check),
      {
        peers: ['piscina', 'tinypool'],
        labels: { piscina: `piscina, chunked by hand (${chunksize})`, tinypool: `tinypool, chunked by hand (${chunksize})` },
      },
    ).map(primed),
  ];
  const rows = await compare(runners, { warmup, repeats, log: ctx.log });
  const groups = [
    {
      title: `isPrime over ${numbers.length.toLocaleString('en-US')} integers, ${ctx.workers} workers`,
      unit: 'ms',
      better: 'lower',
      reference: 'parapool map (default)',
      rows,
    },
  ];

  const notes = [];
  if (ctx.python) {
    const py = await runPython('fine_map.py', [FIRST, END, ctx.workers, ctx.quick ? 0 : 1, ctx.quick ? 1 : 3]);
    if (py.error) notes.push(`Python skipped: ${py.error}`);
    else {
      groups.push({
        title: `Python ${py.python}: the same multiprocessing.Pool.map(is_prime, numbers)`,
        unit: 'ms',
        better: 'lower',
        reference: py.rows[1].label,
        rows: py.rows.map((row) => finishRow(row)),
      });
    }
  }

  const byLabel = Object.fromEntries(rows.map((row) => [row.label, row]));
  const mapDefault = byLabel['parapool map (default)'];
  const sequential = byLabel['sequential loop'];
  const ratios = [];
  if (!mapDefault.error) {
    if (!sequential.error) {
      const speedup = sequential.median / mapDefault.median;
      ratios.push({
        label: 'parapool map (default): speedup over the sequential loop',
        value: speedup,
        goal: '≥ 1.6×',
        met: speedup >= 1.6,
      });
    }
    const handwritten = byLabel[HANDWRITTEN];
    if (!sequential.error && !handwritten.error) {
      ratios.push({ label: 'hand-written limit: speedup over the sequential loop', value: sequential.median / handwritten.median });
      // (sequential ÷ parapool) ÷ (sequential ÷ hand-written): the sequential time cancels out.
      const share = handwritten.median / mapDefault.median;
      ratios.push({
        label: 'parapool map (default): share of the hand-written speedup',
        value: share,
        goal: '≥ 0.90',
        met: share >= 0.9,
      });
      const chunked = byLabel[CHUNKED];
      if (!chunked.error) {
        ratios.push({ label: `${CHUNKED}: share of the hand-written speedup`, value: handwritten.median / chunked.median });
      }
    }
    for (const row of rows.filter((candidate) => candidate.label.endsWith('one task per item') && !candidate.error)) {
      const ratio = row.median / mapDefault.median;
      ratios.push({ label: `parapool map (default) vs ${row.label}`, value: ratio, goal: '≥ 10×', met: ratio >= 10 });
    }
    for (const row of rows.filter((candidate) => candidate.label.includes('chunked by hand') && !candidate.error)) {
      ratios.push({ label: `parapool map (default) vs ${row.label}`, value: row.median / mapDefault.median });
    }
    const chunksizeOne = byLabel['parapool map (chunksize 1)'];
    const piscinaPerItem = byLabel['piscina, one task per item'];
    if (!chunksizeOne.error && !piscinaPerItem.error) {
      ratios.push({
        label: 'parapool map (chunksize 1) time ÷ piscina one task per item',
        value: chunksizeOne.median / piscinaPerItem.median,
        goal: '≤ 1.10',
        met: chunksizeOne.median / piscinaPerItem.median <= 1.1,
      });
    }
  }
  return {
    sizes: `${numbers.length.toLocaleString('en-US')} items (${FIRST.toLocaleString('en-US')}..${END.toLocaleString('en-US')}); hand chunks of ${chunksize} (Python's default); the runners that take milliseconds map ${BATCH} times per round (${BATCH * repeats} samples each)`,
    warmup,
    repeats,
    groups,
    ratios,
    notes,
  };
}
