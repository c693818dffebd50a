// A ThreadPool worker for the pool's tests (started by pool-worker-entry.mjs, which sets the thread's index and
// start plan). Each request names an op: `die` exits with code 3 and `crash` throws outside any request, both
// before answering; `hang` never answers; anything else answers `op:index`.
import { serveRequests } from '../../src/node/threads/serve-requests.js';

const { index, step } = (globalThis as unknown as { poolWorker: { index: number; step: string } }).poolWorker;

if (step === 'slow') await new Promise((r) => setTimeout(r, 1500));
if (step === 'die-after-ready') setTimeout(() => process.exit(7), 50);
if (step === 'crash-after-ready') {
  setTimeout(() => {
    throw new Error(`thread ${index} crashed after start`);
  }, 50);
}

serveRequests<{ op: string }, string>(async ({ op }) => {
  if (op === 'die') process.exit(3);
  if (op === 'crash') {
    setImmediate(() => {
      throw new Error('boom');
    });
    return new Promise(() => {});
  }
  if (op === 'hang') return new Promise(() => {});
  return { value: `${op}:${index}` };
});
