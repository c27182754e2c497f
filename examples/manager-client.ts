/**
 * The second process of the manager demo: connects over TCP (TLS 1.3 with the
 * shared key) to the demo's manager and reads and writes the same dict.
 * usage: tsx examples/manager-client.ts PORT KEY
 */
import { Manager } from 'parapool';

async function main(): Promise<void> {
  const [port, key] = process.argv.slice(2);
  const m = await Manager.connect({ address: { host: '127.0.0.1', port: Number(port) }, authkey: key! });
  const results = await m.dict<string, number>(undefined, { name: 'results' });
  console.log(`  [pid ${process.pid}] over TCP: the dict has ${await results.size()} entries; adding one`);
  await results.set(`remote:${process.pid}`, -1);
  await m.shutdown();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
