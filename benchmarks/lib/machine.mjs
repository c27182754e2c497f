// The machine a run happened on: printed as the header of every run and stored
// with the results, since absolute figures mean nothing without it.
import * as os from 'node:os';
import { spawnSync } from 'node:child_process';

/** Python's version string, or null when python3 is not installed. */
export function pythonVersion() {
  const probe = spawnSync('python3', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return null;
  return (probe.stdout || probe.stderr).trim().replace(/^Python\s+/, '');
}

export function describeMachine(argv) {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
    cores: os.availableParallelism(),
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    python: pythonVersion(),
    loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100),
  };
}

export function machineMarkdown(machine) {
  return [
    `- Date: ${machine.date}`,
    `- Command: \`${machine.command}\``,
    `- Machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.totalMemoryGiB} GiB, ${machine.platform}`,
    `- Node ${machine.node}; Python ${machine.python ?? 'not installed'}`,
    `- Load average at start (1, 5, 15 min): ${machine.loadAverage.join(', ')}${machine.loadAverageEnd ? `; at the end: ${machine.loadAverageEnd.join(', ')}` : ''}`,
    `- The machine is shared: a load above ${machine.cores} while a run goes means other work competed for the cores (ratios between runners stay comparable, absolute times and speedups do not).`,
  ].join('\n');
}

/** The 1-, 5- and 15-minute load averages, two decimals each, joined by `separator`: what the experiments print before and after. */
export function loadAverage(separator = ' ') {
  return os
    .loadavg()
    .map((load) => load.toFixed(2))
    .join(separator);
}
