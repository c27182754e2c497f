// Runner builders shared by the workloads: the same job expressed once per peer.
import { createRequire } from 'node:module';
import { createPeer, PEER_NAMES } from './peers.mjs';
import { timed } from './measure.mjs';

const require = createRequire(import.meta.url);

/** The compiled workers/*.js, loaded in this thread for the sequential baseline. */
export function loadWorkers(files) {
  return {
    primes: require(files.js.primes),
    math: require(files.js.math),
    montecarlo: require(files.js.montecarlo),
  };
}

/** A parapool runner over one shared Pool, or a row that says why it is skipped. */
export function parapoolRunner(ctx, label, job, { needs = ['Pool', 'tasks'], poolOptions = {} } = {}) {
  const reason =
    ctx.parapool.error ??
    needs
      .filter((name) => ctx.parapool.mp[name] === undefined)
      .map((name) => `no \`${name}\` export yet`)
      .join(', ');
  if (reason) return { label, setup: () => Promise.reject(new Error(reason)), sample: () => 0 };
  const mp = ctx.parapool.mp;
  return {
    label,
    setup: async () => {
      const pool = new mp.Pool({ workers: ctx.workers, ...poolOptions });
      const refs = {
        primes: mp.tasks(ctx.files.js.primes),
        math: mp.tasks(ctx.files.js.math),
      };
      await pool.apply(refs.math.noop, []); // every worker up before timing
      return { pool, refs };
    },
    sample: (state) => job(state.pool, state.refs),
    teardown: async (state) => {
      state.pool.close();
      await state.pool.join();
    },
  };
}

/** One runner per Node peer, each on its own pool; `job(run)` gets the peer's `run(name, arg)`. */
export function peerRunners(ctx, job, { labels = {}, peers = PEER_NAMES } = {}) {
  return peers.map((name) => ({
    label: labels[name] ?? name,
    setup: async () => {
      const peer = createPeer(name, ctx.workers);
      await Promise.all(Array.from({ length: ctx.workers * 2 }, () => peer.run('noop', null)));
      return peer;
    },
    sample: (peer) => job(peer.run, name),
    teardown: (peer) => peer.destroy(),
  }));
}

/** Milliseconds of `fn`, checking its value with `check`. */
export async function timeChecked(fn, check) {
  const { ms, value } = await timed(fn);
  check(value);
  return ms;
}
