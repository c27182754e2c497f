#!/usr/bin/env node
// parapool's benchmark suite: `npm run bench` (after `npm run build`).
//
//   node benchmarks/run.mjs [--quick] [--only <workload>[,<workload>...]] [--no-python]
//
// Each workload lives in benchmarks/workloads/<n>-<id>.mjs; it is measured side by
// side against the sequential loop, piscina, tinypool, workerpool, poolifier and
// Python, and printed as Markdown tables. A full run writes benchmarks/results/latest.json
// and one SVG per workload (render docs/benchmarks.md from it with benchmarks/report.mjs);
// --only merges its workloads into latest.json; --quick writes to results/quick/.
// Timings are printed, never asserted: nothing here fails on a slow figure.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENCH_DIR, buildWorkers } from './lib/build.mjs';
import { describeMachine, machineMarkdown } from './lib/machine.mjs';
import { workloadMarkdown } from './lib/format.mjs';
import { workloadSvg } from './lib/svg.mjs';
import { compactResult } from './lib/compact.mjs';
import { loadParapool } from './lib/parapool.mjs';
import { peerVersions } from './lib/peers.mjs';

function parseArgs(argv) {
  const options = { quick: false, only: null, python: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') options.quick = true;
    else if (arg === '--no-python') options.python = false;
    else if (arg === '--only') options.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (arg.startsWith('--only=')) options.only = arg.slice('--only='.length).split(',').filter(Boolean);
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: node benchmarks/run.mjs [--quick] [--only <workload>[,...]] [--no-python]');
      process.exit(0);
    } else {
      console.error(`unknown argument ${arg}`);
      process.exit(2);
    }
  }
  return options;
}

async function loadWorkloads() {
  const dir = path.join(BENCH_DIR, 'workloads');
  const files = fs.readdirSync(dir).filter((file) => file.endsWith('.mjs'));
  const workloads = [];
  for (const file of files) workloads.push(await import(pathToFileURL(path.join(dir, file)).href));
  return workloads.sort((a, b) => a.number - b.number || a.id.localeCompare(b.id));
}

function writeAtomically(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

async function main() {
  const argv = process.argv.slice(2);
  const options = parseArgs(argv);
  const all = await loadWorkloads();
  const selected = options.only
    ? all.filter((workload) =>
        options.only.some(
          (want) => want === workload.id || want === String(workload.number) || want === `${workload.number}-${workload.id}`,
        ),
      )
    : all;
  if (selected.length === 0) {
    console.error(`no workload matches ${options.only.join(', ')}; known: ${all.map((w) => `${w.number}-${w.id}`).join(', ')}`);
    process.exit(2);
  }

  const machine = describeMachine(argv);
  const versions = await peerVersions();
  const files = buildWorkers();
  const parapool = loadParapool();
  const ctx = {
    quick: options.quick,
    workers: os.availableParallelism(),
    python: options.python,
    parapool,
    files,
    log: (line) => process.stderr.write(`${line}\n`),
  };

  console.log(`# parapool benchmarks${options.quick ? ' (quick)' : ''}\n`);
  console.log(machineMarkdown(machine));
  console.log(
    `- Peers: ${Object.entries(versions)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}; ${ctx.workers} workers each`,
  );
  if (parapool.error) console.log(`- parapool: ${parapool.error}; its rows are skipped`);

  const resultsDir = path.join(BENCH_DIR, 'results', options.quick ? 'quick' : '');
  const jsonFile = path.join(resultsDir, options.quick ? 'quick.json' : 'latest.json');
  const results = [];
  for (const workload of selected) {
    const started = performance.now();
    ctx.log(`\n[${workload.number}-${workload.id}] ${workload.title}`);
    let result;
    try {
      result = await workload.run(ctx);
    } catch (error) {
      result = { skipped: `crashed: ${error.stack ?? error}` };
    }
    result = {
      number: workload.number,
      id: workload.id,
      title: workload.title,
      description: workload.description,
      date: new Date().toISOString(),
      quick: options.quick,
      seconds: Math.round((performance.now() - started) / 100) / 10,
      ...result,
    };
    const svgName = `${workload.number}-${workload.id}.svg`;
    if (!result.skipped) writeAtomically(path.join(resultsDir, svgName), workloadSvg(result));
    result.svg = result.skipped ? null : svgName;
    console.log(`\n${workloadMarkdown(result)}\n\n_(${result.seconds} s)_`);
    results.push(compactResult(result));
  }

  // --only merges into the previous file, so one workload can be re-run alone.
  let previous = [];
  if (options.only && fs.existsSync(jsonFile)) {
    try {
      previous = JSON.parse(fs.readFileSync(jsonFile, 'utf8')).workloads ?? [];
    } catch {
      previous = [];
    }
  }
  const merged = [...previous.filter((old) => !results.some((fresh) => fresh.id === old.id)), ...results].sort(
    (a, b) => a.number - b.number,
  );
  machine.loadAverageEnd = os.loadavg().map((load) => Math.round(load * 100) / 100);
  const document = { machine, quick: options.quick, workers: ctx.workers, peers: versions, workloads: merged };
  writeAtomically(jsonFile, `${JSON.stringify(document, null, 2)}\n`);
  console.log(
    `\nWrote ${path.relative(process.cwd(), jsonFile)} and ${results.filter((r) => r.svg).length} SVG chart(s) in ${path.relative(process.cwd(), resultsDir) || '.'}.`,
  );
}

// Exit explicitly: a peer that leaves a handle open must not hang CI after the report.
main().then(
  () => process.exit(process.exitCode ?? 0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
