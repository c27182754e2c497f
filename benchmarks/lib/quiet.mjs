// Waiting for a quiet moment on a shared machine: before a timed round, look at how
// busy the CPUs are (Linux /proc/stat, over a short window) and wait, up to a bound,
// until they are mostly idle. Other programs' bursts then hit fewer samples; a round
// that could not find a quiet moment still runs, and is counted.
import * as fs from 'node:fs';

function cpuTimes() {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3] + (fields[4] ?? 0); // idle + iowait
  return { idle, total: fields.reduce((a, b) => a + b, 0) };
}

/** Share of CPU time idle over the next `windowMs` (1 = all cores idle), or NaN where /proc/stat is missing. */
export async function idleShare(windowMs = 200) {
  let before;
  try {
    before = cpuTimes();
  } catch {
    return Number.NaN;
  }
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const after = cpuTimes();
  const total = after.total - before.total;
  return total > 0 ? (after.idle - before.idle) / total : 1;
}

/**
 * Resolves once the CPUs were at least `minIdle` idle over a window, or after
 * `maxWaitMs`; `true` when a quiet moment was found (or /proc/stat is missing).
 */
export async function waitForQuiet({ minIdle = 0.8, maxWaitMs = 10_000, windowMs = 200 } = {}) {
  const deadline = performance.now() + maxWaitMs;
  for (;;) {
    const idle = await idleShare(windowMs);
    if (Number.isNaN(idle) || idle >= minIdle) return true;
    if (performance.now() >= deadline) return false;
  }
}
