import { Manager } from 'parapool';

await using m = await Manager.start();
const d = await m.dict<string, number[]>([['k', [0]]]);
const v = await d.get('k');
// @ts-expect-error Property 'push' does not exist on type 'readonly number[]': the value read back is a copy
v?.push(1);
console.log(await d.get('k')); // [ 0 ]: the stored list did not change
