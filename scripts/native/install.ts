// npm run native:install
// For machines with internet: runs @tensorflow/tfjs-node's own installer (the repo's .npmrc sets
// ignore-scripts=true, so `npm ci` never runs it). It downloads libtensorflow 2.9.1 and the prebuilt binding
// from Google's storage; mirrors: TFJS_NODE_BASE_URI or TFJS_NODE_CDN_STORAGE (libtensorflow) and
// npm_config_tfjs_binding_binary_host_mirror (binding); proxies: HTTPS_PROXY. Then loads the backend and
// prints its line. Offline, use npm run native:build instead.
import { join } from 'node:path';
import { selectBackend } from '../../src/node/backend/backend.js';
import { findTfjsNode, installOnline } from '../../src/node/backend/native-build.js';

const ROOT = join(import.meta.dirname, '..', '..');
const started = performance.now();
try {
  const pkgDir = findTfjsNode(ROOT);
  await installOnline(pkgDir, join(ROOT, 'node_modules', '.bin'), (text) => process.stdout.write(text));
  const info = await selectBackend('tensorflow', 'train');
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`native:install done in ${seconds} s; ${info.line}`);
} catch (error) {
  console.error(`native:install: ${(error as Error).message}`);
  process.exit(1);
}
