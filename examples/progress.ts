/**
 * A progress bar for the demos: redrawn in place on a terminal, never wider
 * than it (so it does not wrap on a narrow one), printed at every quarter when
 * the output is a log (CI), so it never floods it.
 */
export function progressBar(label: string): (done: number, total?: number) => void {
  let lastQuarter = -1;
  return (done, total) => {
    if (total === undefined || total === 0) return;
    const fraction = Math.min(1, done / total);
    if (process.stdout.isTTY) {
      // "\r  label [bar] 100%": 2 + label + 2 + bar + 1 + 5 columns, one spare so the cursor never wraps.
      const width = Math.max(0, Math.min(30, (process.stdout.columns ?? 80) - label.length - 11));
      const filled = Math.round(fraction * width);
      process.stdout.write(`\r  ${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%`);
      if (fraction === 1) process.stdout.write('\n');
      return;
    }
    const quarter = Math.floor(fraction * 4);
    if (quarter > lastQuarter) {
      lastQuarter = quarter;
      console.log(`  ${label} ${quarter * 25}%`);
    }
  };
}

/** Milliseconds since `start`, as text. */
export function since(start: number): string {
  return `${(performance.now() - start).toFixed(0)} ms`;
}
