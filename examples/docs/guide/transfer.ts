// transfer.ts: move buffers to and from the workers
import { Pool, tasks, transfer } from 'parapool';

const image = tasks<typeof import('./workers/image.js')>(new URL('./workers/image.js', import.meta.url));
await using pool = new Pool({ workers: 1 });

const pixels = new Uint8Array(64 << 20);
const inverted = await pool.apply(image.invert, [transfer(pixels)]); // no 64 MiB copy either way
console.log(pixels.length, inverted.length, inverted[0]); // 0 67108864 255 (pixels was moved)
