import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeWeights, type WeightsProvenance } from '../../../src/core/bundle/meta.js';
import { HAM10000_CLASSES } from '../../../src/core/labels.js';
import { exportModelBundle } from '../../../src/node/bundle/export.js';
import { readModelBundle } from '../../../src/node/bundle/read.js';
import { writeModelBundle } from '../../../src/node/bundle/write.js';
import { buildTinyModel, TINY_NORM, TINY_SPEC } from '../../support/tiny-model.js';

const root = await mkdtemp(join(tmpdir(), 'bundle-provenance-'));
afterAll(() => rm(root, { recursive: true, force: true }));

const CUT: WeightsProvenance = {
  kind: 'imagenet',
  file: '../shared/weights/mobilenet_v1_1.0_224/model.json',
  sha256: '0f'.repeat(32),
  truncatedAt: 'conv_pw_12_relu',
};

async function write(dir: string, weights?: WeightsProvenance) {
  const model = buildTinyModel();
  try {
    return await writeModelBundle(dir, {
      model,
      name: 'tiny',
      backbone: 'mobilenet_v1',
      classes: HAM10000_CLASSES,
      preprocess: TINY_SPEC,
      normalization: TINY_NORM,
      ...(weights ? { weights } : {}),
    });
  } finally {
    model.dispose();
  }
}

describe('weights provenance in model bundles', () => {
  it('is written to bundle.json, read back and kept by export', async () => {
    await write(join(root, 'a'), CUT);
    expect((await readModelBundle(join(root, 'a'))).meta.weights).toEqual(CUT);
    for (const format of ['onnx', 'tfjs'] as const) {
      const meta = await exportModelBundle(join(root, 'a'), join(root, `out-${format}`), format);
      expect(meta.weights).toEqual(CUT);
    }
    await write(join(root, 'r'), { kind: 'random', seed: 3 });
    expect((await readModelBundle(join(root, 'r'))).meta.weights).toEqual({ kind: 'random', seed: 3 });
  });

  it('stays optional for older bundles, and a malformed record is refused', async () => {
    await write(join(root, 'old'));
    expect((await readModelBundle(join(root, 'old'))).meta.weights).toBeUndefined();
    const path = join(root, 'a', 'bundle.json');
    const json = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(
      path,
      JSON.stringify({ ...json, weights: { kind: 'imagenet', file: 'x.h5', sha256: 'nope' } }),
    );
    await expect(readModelBundle(join(root, 'a'))).rejects.toThrow(
      /^expected .* at "weights\.sha256" for the model bundle metadata .*bundle\.json but received "nope"/,
    );
  });

  it('is labelled so that random or unrecorded weights never read as ImageNet', () => {
    expect(describeWeights(CUT)).toBe('ImageNet, truncated at conv_pw_12_relu (sha256 0f0f0f0f\u2026)');
    expect(describeWeights({ kind: 'imagenet', file: 'w.h5', sha256: 'ab'.repeat(32) })).toBe(
      'ImageNet (sha256 abababab\u2026)',
    );
    expect(describeWeights({ kind: 'random', seed: 42 })).toBe('random (seed 42)');
    expect(describeWeights(undefined)).toBe('unknown');
  });
});
