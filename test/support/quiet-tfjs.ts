// Vitest setup, run before every test file: TF.js in PROD mode, as the CLI runs it (src/node/backend/backend.ts),
// so test files that import TF.js directly do not print the cpu backend's "Hi, looks like you are running
// TensorFlow.js in Node.js" banner; and the cpu backend, TF.js's default, so that a file of the unit project (which
// shares its worker's modules with the files before it: isolate is off) starts where a fresh process would.
import * as tf from '@tensorflow/tfjs';

tf.env().set('PROD', true);
await tf.setBackend('cpu');
