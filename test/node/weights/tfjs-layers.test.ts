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
    await expect(readTfjsLayersWeights(join(dir, 'none'))).rejects.toMatchObject({
      code: 'E_MISSING_FILE',
      message: `expected a TF.js layers model folder or its model.json for ${join(dir, 'none')} but received nothing (not found); pass a TF.js layers model folder or its model.json`,
    });
    await writeFile(join(dir, 'model.json'), JSON.stringify({ modelTopology: {} }));
    await expect(readTfjsLayersWeights(dir)).rejects.toThrow(
      /^expected a valid "weightsManifest" \(a list at weightsManifest\) for .*model\.json but received nothing; is this a TF\.js layers-format model\.json\?$/,
    );
    const manifest = [
      {
        paths: ['g1'],
        weights: [{ name: 'a/kernel', shape: [2], dtype: 'float32', quantization: { dtype: 'uint8' } }],
      },
    ];
    await writeFile(join(dir, 'model.json'), JSON.stringify({ weightsManifest: manifest }));
    await expect(readTfjsLayersWeights(dir)).rejects.toThrow(
      /^expected float32 weights \(the only kind supported\) for a\/kernel for .*model\.json but received float32 \(quantized\); save the model without quantization$/,
    );
  });

  it('rejects a shard shorter than its manifest says', async () => {
    const manifest = [{ paths: ['g1'], weights: [{ name: 'a/kernel', shape: [4], dtype: 'float32' }] }];
    await writeFile(join(dir, 'model.json'), JSON.stringify({ weightsManifest: manifest }));
    await writeFile(join(dir, 'g1'), new Uint8Array(8));
    await expect(readTfjsLayersWeights(dir)).rejects.toThrow(
      /^expected 16 bytes in the shard g1 for a\/kernel for .*model\.json but received 8 \(the shard is too short: the file is truncated\)/,
    );
  });
});
