/**
 * The Monte Carlo estimate of pi from Python's tutorials: 8 tasks of 1,000,000 samples each,
 * each with a fixed random seed so every run gives the same estimate (monte_carlo_pi).
 */
import { type Pool, tasks } from 'parapool';
import * as path from 'node:path';
import { progressBar, since } from './progress';

const montecarlo = tasks<typeof import('../workers/montecarlo')>(path.join(__dirname, '../workers/montecarlo.ts'));

export async function run(pool: Pool): Promise<void> {
  const tasksCount = 8;
  const samples = 1_000_000;
  console.log(`Estimate pi with ${tasksCount} × ${samples.toLocaleString('en')} samples`);
  const start = performance.now();
  const jobs = Array.from({ length: tasksCount }, (_, seed) => [samples, seed + 1] as [number, number]);
  const inside = await pool.starmap(montecarlo.piSamples, jobs, { chunksize: 1, onProgress: progressBar('pool.starmap') });
  const estimate = (4 * inside.reduce((a, b) => a + b, 0)) / (tasksCount * samples);
  console.log(`  pi ≈ ${estimate.toFixed(5)} (error ${Math.abs(estimate - Math.PI).toExponential(1)}) in ${since(start)}`);
}
