'use strict';
// Workload 7's cold start: run as a fresh `node` process, as a user's script is.
// It creates a pool of WORKERS threads, runs one no-op, writes `first-result <ms>`
// (ms since the process began, by performance.now()) to stdout, then shuts the pool
// down and exits. The parent times spawn → that line.
//
//   node cold-start.cjs parapool <parapool index.js> <task module> <workers>
//   node cold-start.cjs piscina <task module (.mjs, export noop)> <workers>
const [which, ...rest] = process.argv.slice(2);

async function main() {
  if (which === 'parapool') {
    const [library, taskModule, workers] = rest;
    const { Pool, tasks } = require(library);
    const pool = new Pool({ workers: Number(workers) });
    await pool.apply(tasks(taskModule).noop, []);
    process.stdout.write(`first-result ${performance.now()}\n`);
    pool.close();
    await pool.join();
  } else if (which === 'piscina') {
    const [taskModule, workers] = rest;
    const { Piscina } = require('piscina');
    const pool = new Piscina({ filename: taskModule, minThreads: Number(workers), maxThreads: Number(workers) });
    await pool.run(null, { name: 'noop' });
    process.stdout.write(`first-result ${performance.now()}\n`);
    await pool.destroy();
  } else {
    throw new Error(`unknown runner ${which}`);
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
