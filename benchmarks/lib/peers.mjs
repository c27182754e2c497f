// The Node pools we compare against, each created the same machine-fair way: a fixed
// number of worker threads (all started at creation), default options otherwise, and
// each one's own one-task-per-item call: `run(name, arg)`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { Tinypool } from 'tinypool';
import workerpool from 'workerpool';
import { FixedThreadPool } from 'poolifier';

const PEERS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'peers');
const TASKS_MJS = path.join(PEERS_DIR, 'tasks.mjs');

const POOLIFIER_DESTROY_TIMEOUT_MS = 5_000;

/** Thrown when a peer's shutdown promise does not settle in time. */
export class HungShutdownError extends Error {}

function settleWithin(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new HungShutdownError(`${what} did not settle within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The peers in table order. */
export const PEER_NAMES = ['piscina', 'tinypool', 'workerpool', 'poolifier'];

/** Versions as installed, for the table labels and the JSON. */
export async function peerVersions() {
  const modules = path.join(PEERS_DIR, '..', '..', 'node_modules');
  const versionOf = (name) => JSON.parse(fs.readFileSync(path.join(modules, name, 'package.json'), 'utf8')).version;
  return Object.fromEntries(PEER_NAMES.map((name) => [name, versionOf(name)]));
}

/**
 * Creates one peer pool with `workers` threads and returns
 * `{ run(name, arg): Promise, destroy(): Promise }`.
 */
export function createPeer(name, workers) {
  switch (name) {
    case 'piscina': {
      const pool = new Piscina({ filename: TASKS_MJS, minThreads: workers, maxThreads: workers });
      return { run: (task, arg) => pool.run(arg, { name: task }), destroy: () => pool.destroy() };
    }
    case 'tinypool': {
      const pool = new Tinypool({ filename: TASKS_MJS, minThreads: workers, maxThreads: workers });
      return { run: (task, arg) => pool.run(arg, { name: task }), destroy: () => pool.destroy() };
    }
    case 'workerpool': {
      const pool = workerpool.pool(path.join(PEERS_DIR, 'workerpool-worker.cjs'), {
        minWorkers: workers,
        maxWorkers: workers,
        workerType: 'thread',
      });
      return { run: (task, arg) => pool.exec(task, [arg]), destroy: () => pool.terminate() };
    }
    case 'poolifier': {
      const pool = new FixedThreadPool(workers, path.join(PEERS_DIR, 'poolifier-worker.cjs'));
      return {
        run: (task, arg) => pool.execute(arg, task),
        // poolifier 5.3.2's destroy() now and then never settles (about one pool in ten
        // when destroyed right after start-up) although its workers are gone: bound it,
        // so that the caller can report the hang instead of waiting forever.
        destroy: () => settleWithin(pool.destroy(), POOLIFIER_DESTROY_TIMEOUT_MS, 'poolifier destroy()'),
      };
    }
    default:
      throw new Error(`unknown peer ${name}`);
  }
}
