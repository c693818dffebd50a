// A decode worker entry (see src/node/threads/ts-worker.mjs) whose thread dies, as a native abort or running out
// of memory would kill it, on the 2nd request it is sent; its 1st is decoded as usual.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
let requests = 0;
parentPort.on('message', () => {
  if (++requests === 2) process.exit(1);
});
