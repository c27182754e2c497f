// The raw MessageChannel baseline of workload 5: a worker that produces, consumes or
// echoes small objects over a MessagePort it is given, with nothing in between.
import { parentPort, workerData } from 'node:worker_threads';

const { role, port, count } = workerData;

if (role === 'producer') {
  parentPort.on('message', () => {
    for (let i = 0; i < count; i++) port.postMessage({ id: i, value: i * 0.5, name: 'item' });
  });
} else if (role === 'consumer') {
  let received = 0;
  let idSum = 0;
  port.on('message', (item) => {
    idSum += item.id;
    if (++received === count) {
      parentPort.postMessage(idSum);
      received = 0;
      idSum = 0;
    }
  });
} else if (role === 'echo') {
  port.on('message', (item) => port.postMessage(item));
}
parentPort.postMessage('ready');
