// Worker entry used when lesionlab runs from its TypeScript sources (tsx, vitest, a fresh clone): worker
// threads start without the parent's TypeScript loader, so this plain-JS file registers tsx and then loads
// the worker module named in `workerData.module` (e.g. decode-worker.ts). Compiled builds start that module directly.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
