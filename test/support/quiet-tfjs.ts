// Vitest setup: TF.js in PROD mode, as the CLI runs it (src/node/backend/backend.ts), so test files that import
// TF.js directly do not print the cpu backend's "Hi, looks like you are running TensorFlow.js in Node.js" banner.
import * as tf from '@tensorflow/tfjs';

tf.env().set('PROD', true);
