/**
 * SharedMemory (Python's multiprocessing.shared_memory tutorial): a worker attaches
 * to a block by name and changes it in place; then a 64 MiB Float64Array is
 * summed in parallel with zero copies, against copying it to the workers.
 */
import * as path from 'node:path';
import { type Pool, SharedMemory, tasks } from 'parapool';
import { since } from './progress';

const shared = tasks<typeof import('../workers/shared')>(path.join(__dirname, '../workers/shared.ts'));

export async function run(pool: Pool): Promise<void> {
  console.log('Attach by name in a worker, change in place (as in Python: arr = arr * 2 + 1)');
  const small = new SharedMemory({ create: true, size: 100 * 8 });
  const values = new Float64Array(small.buf.buffer, small.buf.byteOffset, 100);
  for (let i = 0; i < 100; i++) values[i] = i;
  console.log(`  before: [${[...values.slice(0, 5)].join(', ')}]`);
  await pool.apply(shared.doubleAndIncrement, [small.name, 100]);
  console.log(`  after:  [${[...values.slice(0, 5)].join(', ')}]   (block ${small.name})`);
  small.close();
  small.unlink();

  const length = (64 << 20) / 8;
  console.log(`Sum a 64 MiB Float64Array (${length.toLocaleString('en')} values) on ${pool.workers} workers`);
  const block = new SharedMemory({ create: true, size: length * 8 });
  const data = new Float64Array(block.buf.buffer, block.buf.byteOffset, length);
  for (let i = 0; i < length; i++) data[i] = (i % 1000) / 8;
  const parts = Array.from(
    { length: pool.workers },
    (_, i) => [Math.floor((i * length) / pool.workers), Math.floor(((i + 1) * length) / pool.workers)] as [number, number],
  );

  let start = performance.now();
  const zeroCopy = (
    await pool.starmap(
      shared.sumShared,
      parts.map(([from, to]) => [block, from, to] as [SharedMemory, number, number]),
    )
  ).reduce((a, b) => a + b, 0);
  const zeroCopyTime = since(start);
  start = performance.now();
  const copied = (
    await pool.map(
      shared.sumCopied,
      parts.map(([from, to]) => data.slice(from, to)),
    )
  ).reduce((a, b) => a + b, 0);
  console.log(`  SharedMemory (zero copy): ${zeroCopy} in ${zeroCopyTime}; copied to the workers: ${copied} in ${since(start)}`);
  block.close();
  block.unlink();
}
