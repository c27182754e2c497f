/**
 * Python's Pipe tutorial: the parent sends numbers through one end,
 * a child Process squares them and sends them back through the other.
 */
import * as path from 'node:path';
import { Pipe, Process, tasks } from 'parapool';

const messaging = tasks<typeof import('../workers/messaging')>(path.join(__dirname, '../workers/messaging.ts'));

export async function run(): Promise<void> {
  console.log('Squares through a Pipe to a child Process');
  const [parentConn, childConn] = Pipe<number | null>();
  const child = new Process({ target: messaging.squaresChild, args: [childConn] });
  child.start();
  childConn.close(); // the parent does not use the child's end (it has moved to the child anyway)
  for (const n of [3, 7, 12, 25]) {
    parentConn.send(n);
    console.log(`  ${n}^2 = ${await parentConn.recv()}`);
  }
  parentConn.send(null);
  parentConn.close();
  await child.join();
  console.log(`  child exited with code ${child.exitCode}`);
}
