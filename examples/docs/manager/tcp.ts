import { randomBytes } from 'node:crypto';
import { Manager } from 'parapool';

const key = randomBytes(32);
// server (this example listens on loopback; a real server would listen on its network address)
await using server = await Manager.start({ address: { host: '127.0.0.1', port: 0 }, authkey: key });
// any other process or machine
await using m = await Manager.connect({ address: server.address!, authkey: key });
const results = await m.dict<string, number>(undefined, { name: 'results' });
await results.set('from a client', 1);
console.log(await (await server.dict<string, number>(undefined, { name: 'results' })).entries());
