#!/usr/bin/env node
// Renders benchmarks/results/latest.json (written by a full `npm run bench`) into
// docs/benchmarks.md: machine and date, the command, every workload's tables with
// ratios, the key ratios against the goals, and links to the SVG charts.
//
//   node benchmarks/report.mjs [results.json] [output.md]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BENCH_DIR, ROOT } from './lib/build.mjs';
import { fmtRatio, markdownTable, workloadMarkdown } from './lib/format.mjs';
import { machineMarkdown } from './lib/machine.mjs';

const input = path.resolve(process.argv[2] ?? path.join(BENCH_DIR, 'results', 'latest.json'));
const output = path.resolve(process.argv[3] ?? path.join(ROOT, 'docs', 'benchmarks.md'));
const results = JSON.parse(fs.readFileSync(input, 'utf8'));
const svgDir = path.dirname(input);
const link = (file) => path.relative(path.dirname(output), path.join(svgDir, file)).split(path.sep).join('/');

const goals = results.workloads.flatMap((workload) =>
  (workload.ratios ?? [])
    .filter((ratio) => ratio.goal)
    .map((ratio) => [
      `${workload.number}. ${workload.title}`,
      ratio.label,
      fmtRatio(ratio.value),
      ratio.goal,
      ratio.met ? 'met' : 'missed',
    ]),
);

const parts = [
  '# Benchmarks',
  '',
  'How parapool compares with the sequential loop, raw piscina (its engine), tinypool, workerpool,',
  "poolifier and Python's `multiprocessing` / `concurrent.futures`, all measured side by side in one run",
  'on the same machine. Every figure that matters is a ratio; absolute times depend on the machine.',
  "Method: each runner's pool is created before timing (except in the start-up workload), warmed up,",
  'then the timed repeats go round-robin over the runners so that background load hits them alike;',
  'the median is quoted with min and max. Speed is shown here, never asserted in tests.',
  'The method is described in full in `BENCHMARKS.md` of the project notes; the code is in',
  '[`benchmarks/`](../benchmarks/) (`npm run bench`, `npm run bench -- --quick`, `--only <workload>`),',
  'and this page is rendered from `benchmarks/results/latest.json` by `node benchmarks/report.mjs`.',
  '',
  '## Machine',
  '',
  machineMarkdown(results.machine),
  `- Peers: ${Object.entries(results.peers)
    .map(([name, version]) => `${name} ${version}`)
    .join(', ')}; ${results.workers} workers each`,
];
if (goals.length) {
  parts.push('', '## Goals at a glance', '', markdownTable(['workload', 'ratio', 'measured', 'goal', 'status'], goals));
}
// The reading of the figures is written by hand (benchmarks/analysis.md) next to the
// results it was written for; it is included as is.
const analysis = path.join(BENCH_DIR, 'analysis.md');
if (fs.existsSync(analysis)) parts.push('', fs.readFileSync(analysis, 'utf8').trim());
for (const workload of results.workloads) {
  parts.push('', workloadMarkdown(workload, { headingLevel: 2, svgLink: workload.svg ? link(workload.svg) : undefined }));
}
fs.mkdirSync(path.dirname(output), { recursive: true });
fs.writeFileSync(output, `${parts.join('\n')}\n`);
console.log(`Wrote ${path.relative(process.cwd(), output)} from ${path.relative(process.cwd(), input)}.`);
