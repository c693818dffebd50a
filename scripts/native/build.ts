// npm run native:build [-- --force] [-- --wheel <path>]
// Builds @tensorflow/tfjs-node's binding offline against the libtensorflow inside PyPI's tensorflow-cpu wheel:
//   1. the wheel: --wheel <path>, $LESIONLAB_TF_WHEEL, .cache/native/wheel/, else `pip download` into it
//   2. unpack its two libraries and the C-API headers into .cache/native/tensorflow-cpu-<version>/ (a wheel
//      without them, or of another version or platform, is refused)
//   3. stage them in node_modules/@tensorflow/tfjs-node/deps (hard links + the names tfjs-node expects)
//   4. node-pre-gyp rebuild --build-from-source (local Node headers, no network)
//   5. load the backend and print its line.
// Every step is skipped when its result is already there; --force redoes them all. Temp folders that interrupted
// runs left (*.tmp-<pid> of processes gone) are removed; --force removes every one. Linux x86_64 only.
// Needs python3 with pip (only when it downloads the wheel), g++ and make (Debian: python3 python3-pip g++ make).
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/node/backend/backend.js';
import {
  bindingBuildCommand,
  bindingPath,
  clearBuilt,
  diskUsage,
  findCachedWheel,
  findTfjsNode,
  isBuiltAgainst,
  markBuilt,
  removeStaleTemps,
  runCommand,
  stageDeps,
  TF_WHEEL,
  unpackWheel,
  wheelDownloadCommand,
} from '../../src/node/backend/native-build.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CACHE = join(ROOT, '.cache', 'native');
const { values } = parseArgs({ options: { force: { type: 'boolean' }, wheel: { type: 'string' } } });
const started = performance.now();
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

async function step<T>(label: string, run: () => Promise<T>, done: (result: T) => string): Promise<T> {
  const t0 = performance.now();
  process.stdout.write(`native:build ${label} ... `);
  const result = await run();
  console.log(`${done(result)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return result;
}

async function wheel(): Promise<string> {
  const given = values.wheel ?? process.env['LESIONLAB_TF_WHEEL'];
  if (given) return given;
  const dir = join(CACHE, 'wheel');
  const cached = await findCachedWheel(dir);
  if (cached) return cached;
  await mkdir(dir, { recursive: true });
  await runCommand(
    wheelDownloadCommand(dir),
    `check the network or HTTPS_PROXY and that pip runs (Debian: apt-get install python3-pip), or download ` +
      `${TF_WHEEL.name}==${TF_WHEEL.version} elsewhere and pass --wheel <path>`,
  );
  const downloaded = await findCachedWheel(dir);
  if (!downloaded)
    throw new Error(`pip download left no ${TF_WHEEL.name} ${TF_WHEEL.version} wheel in ${dir}`);
  return downloaded;
}

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(
    `native:build: ${process.platform}/${process.arch} is not Linux x86_64; use npm run native:install`,
  );
  process.exit(1);
}
try {
  const pkgDir = findTfjsNode(ROOT);
  const unpacked = join(CACHE, `${TF_WHEEL.name}-${TF_WHEEL.version}`);
  if (values.force) {
    await clearBuilt(pkgDir);
    // Temp folders of other runs too (a live pid may be an unrelated process that reused it).
    await removeStaleTemps(unpacked, true);
    await removeStaleTemps(join(pkgDir, 'deps'), true);
  }
  const whl = await step('wheel', wheel, (w) => w);
  await step(
    'unpack',
    async () => {
      if (values.force) await rm(unpacked, { recursive: true, force: true });
      return unpackWheel(whl, unpacked);
    },
    (r) => (r.files ? `${r.files} files, ${mb(r.bytes)} into ${r.dir}` : `already in ${r.dir}`),
  );
  await step(
    'deps',
    () => stageDeps(pkgDir, unpacked),
    (changed) => `${changed ? 'staged' : 'already staged'} in ${join(pkgDir, 'deps')}`,
  );
  const binding = await bindingPath(pkgDir);
  await step(
    'binding',
    async () => {
      if (await isBuiltAgainst(binding, whl)) return false;
      await runCommand(
        bindingBuildCommand(pkgDir),
        'install g++, make and python3 (node-gyp needs them; Debian: apt-get install g++ make python3) and retry',
      );
      await markBuilt(binding, whl);
      return true;
    },
    (built) => `${built ? 'built' : 'already built'}: ${binding}`,
  );
  const info = await selectBackend('tensorflow', 'train');
  console.log(`native:build verify: ${info.line}; tf.getBackend() = ${tf.getBackend()}`);
  const seen = new Set<number>();
  const disk = {
    wheel: await diskUsage([whl], seen),
    unpacked: await diskUsage([unpacked], seen),
    build: await diskUsage([join(pkgDir, 'build'), join(pkgDir, 'lib'), join(pkgDir, 'deps')], seen),
  };
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `native:build done in ${seconds} s; disk: wheel ${mb(disk.wheel)}, unpacked ${mb(disk.unpacked)}, ` +
      `tfjs-node build/lib/deps ${mb(disk.build)} more (deps/lib hard-links the unpacked libraries)`,
  );
} catch (error) {
  console.error(`native:build: ${(error as Error).message}`);
  process.exit(1);
}
