import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTfjsLayersWeights } from '../../../src/node/weights/tfjs-layers.js';

describe('TF.js layers weights: malformed folders', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lesionlab-tfjs-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('rejects a missing folder, a model.json without manifest and quantized weights', async () => {
    await expect(readTfjsLayersWeights(join(dir, 'none'))).rejects.toMatchObject({ code: 'E_MISSING_FILE' });
    await writeFile(join(dir, 'model.json'), JSON.stringify({ modelTopology: {} }));
    await expect(readTfjsLayersWeights(dir)).rejects.toThrow(/no valid "weightsManifest"/);
    const manifest = [
      {
        paths: ['g1'],
        weights: [{ name: 'a/kernel', shape: [2], dtype: 'float32', quantization: { dtype: 'uint8' } }],
      },
    ];
    await writeFile(join(dir, 'model.json'), JSON.stringify({ weightsManifest: manifest }));
    await expect(readTfjsLayersWeights(dir)).rejects.toThrow(/only float32 weights are supported/);
  });

  it('rejects a shard shorter than its manifest says', async () => {
    const manifest = [{ paths: ['g1'], weights: [{ name: 'a/kernel', shape: [4], dtype: 'float32' }] }];
    await writeFile(join(dir, 'model.json'), JSON.stringify({ weightsManifest: manifest }));
    await writeFile(join(dir, 'g1'), new Uint8Array(8));
    await expect(readTfjsLayersWeights(dir)).rejects.toThrow(/shard g1 is too short for a\/kernel/);
  });
});
