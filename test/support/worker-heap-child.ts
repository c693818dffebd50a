// Child process of worker-heap.test.ts (run with V8's --trace-incremental-marking): starts one worker thread that
// turns over short-lived objects, after sizeWorkerHeaps() when the argument is `sized`, and waits for it to end.
import { Worker } from 'node:worker_threads';
import { sizeWorkerHeaps } from '../../src/node/threads/worker-heap.js';
import { childArgs } from './child-args.js';

const [mode] = childArgs('worker-heap-child.ts', ['sized|default']);
if (mode === 'sized') sizeWorkerHeaps();
// Batches of 100,000 small objects, the last three kept: each lives through a few scavenges and is promoted.
const churn = `let keep = [];
for (let b = 0; b < 40; b++) {
  const batch = [];
  for (let i = 0; i < 100000; i++) batch.push({ b, i, pair: [b, i] });
  keep.push(batch);
  if (keep.length > 3) keep.shift();
}`;
await new Promise((resolve) => new Worker(churn, { eval: true }).once('exit', resolve));
