import { Manager } from 'parapool';

await using m = await Manager.start();
const d = await m.dict<string, unknown>();
const inner = await m.list<number>();
await d.set('list', inner);
const stored = (await d.get('list')) as typeof inner;
await stored.append(1); // changes `inner`: a proxy is stored by reference
console.log(await inner.copy()); // [ 1 ]
