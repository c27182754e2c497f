/**
 * The module a manager thread runs (lib/manager/manager.ts starts it).
 * `host`: the objects live here (lib/manager/host.ts), served to this
 * process's threads over ports and, with an address, to TCP clients
 * (lib/manager/server.ts). `relay`: a connected manager's end of one TLS
 * connection (lib/manager/relay.ts), serving this process's threads the same way.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { encodeError } from '../codec/error-codec';
import { Host } from '../manager/host';
import type { ManagerWorkerData, ReadyMessage, StartFailedMessage } from '../manager/protocol';
import { startRelay } from '../manager/relay';
import { listen } from '../manager/server';
import { loadTask } from './load-task';
import './shared-type-loader';

const data = workerData as ManagerWorkerData;

// biome-ignore lint/suspicious/noExplicitAny: a registered class takes whatever its factory was given
type AnyClass = new (...args: any[]) => object;

async function startHost(): Promise<ReadyMessage> {
  let close: (() => void) | undefined;
  const host = new Host({
    mgr: data.mgr,
    control: data.control,
    typeNames: Object.keys(data.types),
    loadClass: async (type) => {
      const ref = data.types[type]!;
      return (await loadTask({ file: ref.file, name: ref.name })) as unknown as AnyClass;
    },
    onShutdown: () => {
      close?.();
      process.exit(0);
    },
  });
  // Whatever ends this thread, no caller may wait for it.
  process.on('exit', () => host.markGone());
  process.on('uncaughtExceptionMonitor', () => host.markGone());
  host.adoptPort(data.port);
  let address: { host: string; port: number } | undefined;
  if (data.address !== undefined) {
    const server = await listen(host, data.address, data.authkey!, Object.keys(data.types));
    address = server.address;
    close = server.close;
  }
  host.setAddress(address);
  return { ready: true, address, types: Object.keys(data.types), root: host.rootDescriptor() };
}

async function start(): Promise<void> {
  try {
    const ready = data.mode === 'host' ? await startHost() : await startRelay(data);
    parentPort!.postMessage(ready);
  } catch (error) {
    parentPort!.postMessage({ ready: false, error: encodeError(error).error } satisfies StartFailedMessage);
  }
}

void start();
