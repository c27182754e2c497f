// Summary statistics over timing samples. Percentiles use the nearest-rank method
// (the smallest sample with at least p% of the samples at or below it), which needs
// no interpolation and always returns a value that was really measured.

/** Sorted copy, ascending. */
export function sorted(samples) {
  return [...samples].sort((a, b) => a - b);
}

/** Nearest-rank percentile, p in (0, 100]. */
export function percentile(samples, p) {
  if (samples.length === 0) return NaN;
  const ordered = sorted(samples);
  const rank = Math.max(1, Math.ceil((p / 100) * ordered.length));
  return ordered[rank - 1];
}

/** Median (mean of the two middle samples for an even count). */
export function median(samples) {
  if (samples.length === 0) return NaN;
  const ordered = sorted(samples);
  const mid = ordered.length >> 1;
  return ordered.length % 2 ? ordered[mid] : (ordered[mid - 1] + ordered[mid]) / 2;
}

/** { median, min, max, n } of a sample list. */
export function summarize(samples) {
  if (samples.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const ordered = sorted(samples);
  return { median: median(ordered), min: ordered[0], max: ordered[ordered.length - 1], n: ordered.length };
}
