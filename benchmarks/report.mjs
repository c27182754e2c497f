#!/usr/bin/env node
// Renders benchmarks/results/latest.json (written by a full `npm run bench`) into
// docs/benchmarks.md, the page for users: machine and date, the command, every
// workload's tables with ratios (the fair comparison first: peers given the same
// chunks by hand, then the one-task-per-item APIs), and the SVG charts, which it
// re-renders from the same results (benchmarks/lib/svg.mjs).
//
//   node benchmarks/report.mjs [results.json] [output.md]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BENCH_DIR, ROOT } from './lib/build.mjs';
import { workloadMarkdown } from './lib/format.mjs';
import { workloadSvg } from './lib/svg.mjs';
import { machineMarkdown } from './lib/machine.mjs';

const input = path.resolve(process.argv[2] ?? path.join(BENCH_DIR, 'results', 'latest.json'));
const output = path.resolve(process.argv[3] ?? path.join(ROOT, 'docs', 'benchmarks.md'));
const results = JSON.parse(fs.readFileSync(input, 'utf8'));
const svgDir = path.dirname(input);
const link = (file) => path.relative(path.dirname(output), path.join(svgDir, file)).split(path.sep).join('/');

/** Users read the like-for-like rows first: the loop, parapool, peers chunked by hand, then one task per item. */
function rank(row) {
  if (row.label.startsWith('sequential')) return 0;
  if (/one task per item|chunksize 1/.test(row.label)) return 4;
  if (row.label.startsWith('parapool')) return 1;
  if (row.label.includes('chunked by hand')) return 2;
  return 3;
}
for (const workload of results.workloads) {
  for (const group of workload.groups ?? []) group.rows = [...group.rows].sort((a, b) => rank(a) - rank(b));
  if (workload.svg) fs.writeFileSync(path.join(svgDir, workload.svg), workloadSvg(workload));
}

const parts = [
  '# Benchmarks',
  '',
  'How parapool compares with the sequential loop, raw piscina (its engine), tinypool, workerpool,',
  "poolifier and Python's `multiprocessing` / `concurrent.futures`, all measured side by side in one run",
  'on the same machine. Every figure that matters is a ratio; absolute times depend on the machine.',
  "Method: each runner's pool is created before timing (except in the start-up workload), warmed up,",
  'then the timed repeats go round-robin over the runners so that background load hits them alike;',
  'the median is quoted with min and max. Speed is shown here, never asserted in tests.',
  'The code is in [`benchmarks/`](../benchmarks/) (`npm run bench`, `npm run bench -- --quick`, `--only <workload>`),',
  'and this page is rendered from `benchmarks/results/latest.json` by `node benchmarks/report.mjs`.',
  '',
  '## Machine',
  '',
  machineMarkdown(results.machine),
  `- Peers: ${Object.entries(results.peers)
    .map(([name, version]) => `${name} ${version}`)
    .join(', ')}; ${results.workers} workers each`,
];
// The reading of the figures is written by hand (benchmarks/analysis.md) next to the
// results it was written for; it is included as is.
const analysis = path.join(BENCH_DIR, 'analysis.md');
if (fs.existsSync(analysis)) parts.push('', fs.readFileSync(analysis, 'utf8').trim());
for (const workload of results.workloads) {
  parts.push('', workloadMarkdown(workload, { headingLevel: 2, svgLink: workload.svg ? link(workload.svg) : undefined, goals: false }));
}
fs.mkdirSync(path.dirname(output), { recursive: true });
fs.writeFileSync(output, `${parts.join('\n')}\n`);
// Formatted as `npm run lint` wants it (tables aligned), so a re-render never fails the lint step.
const biome = path.join(ROOT, 'node_modules', '@biomejs', 'biome', 'bin', 'biome');
const formatted = spawnSync(process.execPath, [biome, 'format', '--write', output], { encoding: 'utf8' });
if (formatted.status !== 0) console.warn(`biome format failed on ${output}:\n${formatted.stderr}`);
console.log(`Wrote ${path.relative(process.cwd(), output)} from ${path.relative(process.cwd(), input)}.`);
