// The entry of test/support/pool-worker.ts's threads (like src/node/threads/ts-worker.mjs), following a start
// plan: `workerData.plan[i]` says what the i-th thread started by the pool does (counted through the shared
// `workerData.counter`; threads past the plan do `workerData.rest`, default 'ok'):
//   ok                 start and answer requests
//   die-at-start       exit with code 5 before loading anything (never ready)
//   crash-at-start     throw before loading anything (never ready)
//   die-after-ready    get ready, then exit with code 7 50 ms later (the start-up race)
//   crash-after-ready  get ready, then throw 50 ms later
//   slow               get ready 1.5 s late
import { workerData } from 'node:worker_threads';

const index = Atomics.add(new Int32Array(workerData.counter), 0, 1);
const step = workerData.plan[index] ?? workerData.rest ?? 'ok';
if (step === 'die-at-start') process.exit(5);
if (step === 'crash-at-start') throw new Error(`thread ${index} failed to start`);
globalThis.poolWorker = { index, step };
const { register } = await import('tsx/esm/api');
register();
await import(workerData.module);
