import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/core/logger.js';
import { getBackbone } from '../../../src/core/models/registry.js';
import { writeKerasH5Weights } from '../../../src/node/weights/h5-write.js';
import { loadPretrainedBackbone } from '../../../src/node/weights/pretrained.js';

const MOBILENET = resolve('../shared/weights/mobilenet_v1_1.0_224');

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, info: () => {}, warn: (m) => warnings.push(m) };
}

let dir: string;
let server: Server;
let base: string;
let h5Bytes: Buffer;
let source: tf.LayersModel;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lesionlab-pre-'));
  source = getBackbone('mobilenet_v2').build({ inputSize: 32 });
  await writeKerasH5Weights(source, join(dir, 'src.h5'));
  h5Bytes = await readFile(join(dir, 'src.h5'));
  server = createServer((req, res) => {
    if (req.url === '/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5') res.end(h5Bytes);
    else res.writeHead(404).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  source.dispose();
  await new Promise((ok) => server.close(ok));
  await rm(dir, { recursive: true, force: true });
});

function predict(model: tf.LayersModel, x: tf.Tensor): number[] {
  return tf.tidy(() => Array.from((model.predict(x) as tf.Tensor).dataSync()));
}

describe('loadPretrainedBackbone', () => {
  it('downloads the official file name from the mirror and loads it', async () => {
    const logger = recordingLogger();
    const got = await loadPretrainedBackbone('mobilenet_v2', {
      logger,
      baseUrl: base,
      cacheDir: join(dir, 'cache'),
      inputSize: 32,
    });
    expect(got).toMatchObject({ weights: 'imagenet', outputLayer: null, featureWidth: 1280 });
    expect(got.source).toBe(
      join(dir, 'cache', 'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5'),
    );
    const x = tf.randomUniform([1, 32, 32, 3], 0, 255, 'float32', 5);
    expect(predict(got.model, x)).toEqual(predict(source, x));
    expect(logger.warnings).toEqual([]);
    x.dispose();
    got.model.dispose();
  });

  it('falls back to random weights with one loud warning when offline', async () => {
    const logger = recordingLogger();
    const got = await loadPretrainedBackbone('densenet121', {
      logger,
      baseUrl: `${base}/nothing-here`,
      cacheDir: join(dir, 'c2'),
      inputSize: 32,
    });
    expect(got).toMatchObject({ weights: 'random', source: null });
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toMatch(/^densenet121: NO IMAGENET WEIGHTS, using RANDOM weights .*HTTP 404/);
    got.model.dispose();
  });

  it('loads an explicit .h5 path and fails loudly on a wrong one', async () => {
    const got = await loadPretrainedBackbone('mobilenet_v2', {
      weightsPath: join(dir, 'src.h5'),
      inputSize: 32,
    });
    expect(got.weights).toBe('imagenet');
    got.model.dispose();
    await expect(
      loadPretrainedBackbone('mobilenet_v1', { weightsPath: join(dir, 'src.h5'), inputSize: 32 }),
    ).rejects.toMatchObject({ code: 'E_WEIGHTS' });
  });

  it.skipIf(!existsSync(join(MOBILENET, 'model.json')))(
    'cuts MobileNet v1 before the missing shard of ../shared',
    async () => {
      const logger = recordingLogger();
      const got = await loadPretrainedBackbone('mobilenet_v1', {
        logger,
        weightsPath: MOBILENET,
        inputSize: 64,
      });
      expect(got).toMatchObject({ weights: 'imagenet', outputLayer: 'conv_pw_12_relu', featureWidth: 1024 });
      expect(got.model.layers.at(-1)!.name).toBe('conv_pw_12_relu');
      expect(logger.warnings).toEqual([
        `mobilenet_v1: group37-shard1of1 missing in ${join(MOBILENET, 'model.json')}; using the backbone up to conv_pw_12_relu`,
      ]);
      got.model.dispose();
    },
  );
});
