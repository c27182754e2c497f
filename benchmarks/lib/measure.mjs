// Side-by-side measurement. Every runner is set up first (pools are created outside
// the timed region), warmed up, then the timed repeats go round-robin over the runners,
// starting from a different runner each round, so that a burst of load from elsewhere
// on a shared machine hits every runner alike instead of one of them.
import { percentile, summarize } from './stats.mjs';

/** Wall time of `fn()` in milliseconds, and its value. */
export async function timed(fn) {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

function errorText(error) {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Runs `runners` side by side and returns one row per runner.
 *
 * A runner is `{ label, setup?(), sample(state), teardown?(state), percentiles?, prime? }`.
 * `sample` returns the measured quantity (a number, or an array of numbers that are
 * all kept, e.g. per-call latencies) and throws if the work gave a wrong result.
 * A runner that throws is reported with its error and dropped; the others go on.
 * `onTimedStart` runs once, after every setup and priming, before the first round.
 */
export async function compare(runners, { warmup, repeats, log = () => {}, sampleTimeoutMs = 180_000, onTimedStart = () => {} }) {
  const live = [];
  const rows = new Map(runners.map((runner) => [runner, { label: runner.label, samples: [] }]));
  for (const runner of runners) {
    try {
      const state = await runner.setup?.();
      // Cheap runners may ask for extra untimed runs, so that their workers' JIT is as
      // warm as that of the runners whose single warm-up round is long.
      for (let i = 0; i < (runner.prime ?? 0); i++) await withTimeout(runner.sample(state), sampleTimeoutMs, `${runner.label}: priming`);
      live.push({ runner, state });
    } catch (error) {
      rows.get(runner).error = `setup failed: ${errorText(error)}`;
    }
  }
  const drop = async (entry, error) => {
    rows.get(entry.runner).error = errorText(error);
    live.splice(live.indexOf(entry), 1);
    // A runner dropped after a hang may not shut down cleanly either: bounded, then left behind.
    await withTimeout(Promise.resolve(entry.runner.teardown?.(entry.state)), 30_000, `${entry.runner.label}: teardown`).catch(() => {});
  };
  onTimedStart();
  const total = warmup + repeats;
  for (let round = 0; round < total; round++) {
    const order = live.map((_, i) => live[(i + round) % live.length]);
    for (const entry of order) {
      let measured;
      try {
        measured = await withTimeout(entry.runner.sample(entry.state), sampleTimeoutMs, `${entry.runner.label}: one sample`);
      } catch (error) {
        log(`    ${entry.runner.label}: ${errorText(error)}`);
        await drop(entry, error);
        continue;
      }
      if (round >= warmup) rows.get(entry.runner).samples.push(...[measured].flat());
    }
    log(`    round ${round + 1}/${total}${round < warmup ? ' (warm-up)' : ''} done`);
  }
  for (const entry of [...live]) {
    try {
      await withTimeout(Promise.resolve(entry.runner.teardown?.(entry.state)), 30_000, `${entry.runner.label}: teardown`);
    } catch (error) {
      // The samples stand; the failed shutdown is reported beside them.
      rows.get(entry.runner).teardownError = errorText(error);
      log(`    ${entry.runner.label}: teardown failed: ${errorText(error)}`);
    }
  }
  return runners.map((runner) => finishRow(rows.get(runner), runner.percentiles));
}

/**
 * `promise`, or a rejection after `ms`. The timer is ref'd on purpose: a pool that
 * loses a task must show up as a timed-out row, not as the process quietly exiting
 * with an empty event loop halfway through the run.
 */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s (hung)`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Adds median/min/max (and p50/p99 when asked) to a row of raw samples. */
export function finishRow(row, withPercentiles = false) {
  if (row.error && row.samples.length === 0) return { label: row.label, error: row.error };
  const summary = summarize(row.samples);
  const finished = { ...row, ...summary };
  if (withPercentiles) {
    finished.p50 = percentile(row.samples, 50);
    finished.p99 = percentile(row.samples, 99);
  }
  return finished;
}

/** Throws when a runner's result differs from the expected one. */
export function expectEqual(actual, expected, what) {
  if (actual !== expected) throw new Error(`wrong result for ${what}: got ${String(actual)}, expected ${String(expected)}`);
}
