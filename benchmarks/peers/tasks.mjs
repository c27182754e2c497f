// ESM face of tasks.cjs, for the pools that load their worker file with import()
// (piscina, tinypool) and look the task up by its export name.
import tasks from './tasks.cjs';

export const { isPrime, countPrimes, factorial, noop, isPrimeChunk, sumSharedBuffer } = tasks;
