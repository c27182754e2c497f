// Workload 5, queue (seed 001/003 producer/consumer): one producer thread and one
// consumer thread pass N small objects through a parapool Queue; and N round trips
// main → worker → main through two queues. Against a raw MessageChannel between the
// same threads, and Python's multiprocessing.Queue between processes.
import * as path from 'node:path';
import { once } from 'node:events';
import { MessageChannel, Worker } from 'node:worker_threads';
import { compare, expectEqual, finishRow, timed } from '../lib/measure.mjs';
import { BENCH_DIR } from '../lib/build.mjs';
import { runPython } from '../lib/python.mjs';

export const number = 5;
export const id = 'queue';
export const title = 'Queue: small objects one way and round trip';
export const description =
  'N objects `{ id, value, name }`: one way from a producer worker (`putSync`) to a consumer worker (`getSync`), ' +
  'and as serial round trips from the main thread (`await put`, `await get`) through an echoing worker. The raw ' +
  'MessageChannel does the same with `postMessage` and message events; Python with multiprocessing.Queue.';

const TASKS_FILE = path.join(BENCH_DIR, 'tasks', 'shared-state.cjs');
const CHANNEL_WORKER = path.join(BENCH_DIR, 'peers', 'channel-worker.mjs');

async function startChannelWorker(role, port, count) {
  const worker = new Worker(CHANNEL_WORKER, { workerData: { role, port, count }, transferList: [port] });
  const [message] = await once(worker, 'message');
  if (message !== 'ready') throw new Error(`channel worker said ${message}`);
  return worker;
}

export async function run(ctx) {
  const mp = ctx.parapool.mp;
  const missing = !mp
    ? ctx.parapool.error
    : ['Pool', 'tasks', 'Queue']
        .filter((name) => mp[name] === undefined)
        .map((name) => `\`${name}\``)
        .join(', ');
  if (missing) return { skipped: mp ? `parapool does not export ${missing} yet` : missing };
  const warmup = 1;
  const repeats = ctx.quick ? 2 : 5;
  const count = ctx.quick ? 20_000 : 100_000;
  const roundTrips = ctx.quick ? 5_000 : 20_000;
  const idSum = (count * (count - 1)) / 2;
  const shared = mp.tasks(TASKS_FILE);
  const parapoolSetup = async () => {
    const pool = new mp.Pool({ workers: 2 });
    await Promise.all([pool.apply(shared.sumRange, [[1], 0, 1]), pool.apply(shared.sumRange, [[1], 0, 1])]);
    return pool;
  };
  const parapoolTeardown = async (pool) => {
    pool.close();
    await pool.join();
  };

  const oneWayRows = await compare(
    [
      {
        label: 'parapool Queue (putSync → getSync)',
        setup: parapoolSetup,
        sample: async (pool) => {
          const queue = new mp.Queue();
          const { ms, value } = await timed(() =>
            Promise.all([pool.apply(shared.produce, [queue, count]), pool.apply(shared.consume, [queue, count])]),
          );
          expectEqual(value[1], idSum, 'consumed id checksum');
          queue.close();
          return count / (ms / 1000);
        },
        teardown: parapoolTeardown,
      },
      {
        label: 'raw MessageChannel (postMessage → message events)',
        setup: async () => {
          const { port1, port2 } = new MessageChannel();
          const producer = await startChannelWorker('producer', port1, count);
          const consumer = await startChannelWorker('consumer', port2, count);
          return { producer, consumer };
        },
        sample: async ({ producer, consumer }) => {
          const { ms, value } = await timed(() => {
            const done = once(consumer, 'message');
            producer.postMessage('go');
            return done;
          });
          expectEqual(value[0], idSum, 'consumed id checksum');
          return count / (ms / 1000);
        },
        teardown: async ({ producer, consumer }) => {
          await Promise.all([producer.terminate(), consumer.terminate()]);
        },
      },
    ],
    { warmup, repeats, log: ctx.log },
  );

  const roundTripRows = await compare(
    [
      {
        label: 'parapool Queue (await put → echo task → await get)',
        setup: parapoolSetup,
        sample: async (pool) => {
          const inbox = new mp.Queue();
          const outbox = new mp.Queue();
          const echoing = pool.apply(shared.echo, [inbox, outbox, roundTrips]);
          const start = performance.now();
          for (let i = 0; i < roundTrips; i++) {
            await inbox.put({ id: i, value: i * 0.5, name: 'item' });
            const back = await outbox.get();
            if (back.id !== i) throw new Error(`round trip ${i} came back as ${back.id}`);
          }
          const ms = performance.now() - start;
          await echoing;
          inbox.close();
          outbox.close();
          return roundTrips / (ms / 1000);
        },
        teardown: parapoolTeardown,
      },
      {
        label: 'raw MessageChannel (postMessage → echo → message)',
        setup: async () => {
          const { port1, port2 } = new MessageChannel();
          const worker = await startChannelWorker('echo', port2, 0);
          return { worker, port: port1 };
        },
        sample: async ({ port }) => {
          const start = performance.now();
          for (let i = 0; i < roundTrips; i++) {
            const reply = once(port, 'message');
            port.postMessage({ id: i, value: i * 0.5, name: 'item' });
            const [back] = await reply;
            if (back.id !== i) throw new Error(`round trip ${i} came back as ${back.id}`);
          }
          return roundTrips / ((performance.now() - start) / 1000);
        },
        teardown: async ({ worker, port }) => {
          port.close();
          await worker.terminate();
        },
      },
    ],
    { warmup, repeats, log: ctx.log },
  );

  const groups = [
    {
      title: `${count.toLocaleString('en-US')} objects, one producer thread → one consumer thread`,
      unit: 'objects/s',
      better: 'higher',
      reference: 'parapool Queue (putSync → getSync)',
      rows: oneWayRows,
    },
    {
      title: `${roundTrips.toLocaleString('en-US')} serial round trips main → worker → main`,
      unit: 'round trips/s',
      better: 'higher',
      reference: 'parapool Queue (await put → echo task → await get)',
      rows: roundTripRows,
    },
  ];
  const notes = [];
  let python;
  if (ctx.python) {
    const py = await runPython('queue_bench.py', [count, roundTrips, warmup, ctx.quick ? 1 : 3]);
    if (py.error) notes.push(`Python skipped: ${py.error}`);
    else {
      python = py.rows.map((row) => finishRow(row));
      groups[0].rows.push(python[0]);
      groups[1].rows.push(python[1]);
      notes.push(
        `Python ${py.python}: multiprocessing.Queue between two Processes (one way) and two Queues with an echoing Process (round trips).`,
      );
    }
  }
  const ratios = [];
  const [queueOneWay, channelOneWay] = oneWayRows;
  const [queueRoundTrip, channelRoundTrip] = roundTripRows;
  if (!queueOneWay.error && python)
    ratios.push({
      label: 'parapool Queue one-way rate ÷ Python Queue',
      value: queueOneWay.median / python[0].median,
      goal: '≥ 10×',
      met: queueOneWay.median / python[0].median >= 10,
    });
  if (!queueOneWay.error && !channelOneWay.error)
    ratios.push({
      label: 'raw MessageChannel one-way rate ÷ parapool Queue',
      value: channelOneWay.median / queueOneWay.median,
      goal: '≤ 1.5',
      met: channelOneWay.median / queueOneWay.median <= 1.5,
    });
  if (!queueRoundTrip.error && python)
    ratios.push({ label: 'parapool Queue round-trip rate ÷ Python Queue', value: queueRoundTrip.median / python[1].median });
  if (!queueRoundTrip.error && !channelRoundTrip.error)
    ratios.push({
      label: 'raw MessageChannel round-trip rate ÷ parapool Queue',
      value: channelRoundTrip.median / queueRoundTrip.median,
      goal: '≤ 1.5',
      met: channelRoundTrip.median / queueRoundTrip.median <= 1.5,
    });
  return {
    sizes: `${count.toLocaleString('en-US')} objects one way, ${roundTrips.toLocaleString('en-US')} round trips`,
    warmup,
    repeats,
    groups,
    ratios,
    notes,
  };
}
