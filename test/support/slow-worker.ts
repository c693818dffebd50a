// A queue worker with a fake, slow classifier, run as a child process by the kill -9 test: it takes jobs and
// holds each for a few seconds, so it can be killed mid-job. Args: <redis url> <queue name>.
import { HAM10000_CLASSES } from '../../src/core/labels.js';
import { redisConnection, startQueueWorker } from '../../src/queue/index.js';
import { childArgs } from './child-args.js';

const [url, name] = childArgs('slow-worker.ts', ['redis url', 'queue name']);
await startQueueWorker(
  { connection: redisConnection(url), name },
  async (paths) => {
    await new Promise((r) => setTimeout(r, 60_000));
    return paths.map((path) => ({ path, probabilities: new Float32Array(7).fill(1 / 7) }));
  },
  { model: { name: 'fake', classes: HAM10000_CLASSES }, lockSeconds: 2 },
);
process.stdout.write('started\n');
