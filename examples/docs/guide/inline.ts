// inline.ts: a self-contained function needs no task module
import { Pool } from 'parapool';

await using pool = new Pool({ workers: 2 });
const squares = await pool.map((x: number) => x * x, [1, 2, 3]);
console.log(squares); // [ 1, 4, 9 ]
