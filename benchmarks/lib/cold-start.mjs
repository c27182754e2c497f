// A fresh `node` process to its first result: what the cold-start rows of workload 7 and
// benchmarks/experiments/cold-start.mjs time.
import { spawn } from 'node:child_process';

/** ms from spawning `node args…` to the child's `first-result` line; the child then exits on its own. */
export function coldStart(args) {
  return new Promise((resolve, reject) => {
    const begin = performance.now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let firstResult;
    child.stdout.on('data', (data) => {
      stdout += data;
      if (firstResult === undefined && stdout.includes('first-result ')) firstResult = performance.now() - begin;
    });
    child.stderr.on('data', (data) => (stderr += data));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0 && firstResult !== undefined) resolve(firstResult);
      else reject(new Error(`cold start exited with code ${code}: ${stderr.trim().split('\n').slice(-3).join(' ')}`));
    });
  });
}
