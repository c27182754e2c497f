// Keeps results/latest.json small enough to commit: a row with many samples (the
// per-call latencies) keeps its 101 percentiles (0 %, 1 %, ..., 100 %) instead of
// every sample, and every figure is rounded to 4 significant digits.
import { sorted } from './stats.mjs';

const MAX_SAMPLES = 101;

function round(value) {
  return typeof value === 'number' && Number.isFinite(value) && value !== 0 ? Number(value.toPrecision(4)) : value;
}

function compactRow(row) {
  const out = { ...row };
  for (const key of ['median', 'min', 'max', 'p50', 'p99']) if (key in out) out[key] = round(out[key]);
  if (Array.isArray(row.samples)) {
    if (row.samples.length > MAX_SAMPLES) {
      const ordered = sorted(row.samples);
      out.sampleCount = ordered.length;
      out.samples = Array.from({ length: MAX_SAMPLES }, (_, i) =>
        round(ordered[Math.round((i / (MAX_SAMPLES - 1)) * (ordered.length - 1))]),
      );
      out.samplesArePercentiles = true;
    } else {
      out.samples = row.samples.map(round);
    }
  }
  return out;
}

/** A copy of a workload result with compacted rows. */
export function compactResult(result) {
  if (!result.groups) return result;
  return {
    ...result,
    groups: result.groups.map((group) => ({ ...group, rows: group.rows.map(compactRow) })),
    ratios: result.ratios?.map((ratio) => ({ ...ratio, value: round(ratio.value) })),
  };
}
