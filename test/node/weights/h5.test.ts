import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBackbone } from '../../../src/core/models/registry.js';
import { at } from '../../../src/core/util/at.js';
import { loadH5wasm, loadKerasH5Weights, readKerasH5Weights } from '../../../src/node/weights/h5.js';
import { writeKerasH5, writeKerasH5Weights } from '../../../src/node/weights/h5-write.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lesionlab-h5-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function predict(model: tf.LayersModel, x: tf.Tensor): number[] {
  return tf.tidy(() => Array.from((model.predict(x) as tf.Tensor).dataSync()));
}

describe('Keras .h5 weights', () => {
  it('writes the Keras 2 layout: layer_names, weight_names, nested datasets', async () => {
    const path = join(dir, 'layout.h5');
    await writeKerasH5(path, [
      { name: 'input_1', weights: [] },
      {
        name: 'conv1/conv',
        weights: [{ name: 'kernel', shape: [1, 1, 1, 2], data: new Float32Array([1, 2]) }],
      },
    ]);
    const h5 = await loadH5wasm();
    const file = new h5.File(path, 'r');
    expect(file.attrs['layer_names']!.value).toEqual(['input_1', 'conv1/conv']);
    const group = file.get('conv1/conv') as InstanceType<typeof h5.Group>;
    expect(group.attrs['weight_names']!.value).toEqual(['conv1/conv/kernel:0']);
    file.close();
    expect(await readKerasH5Weights(path)).toEqual([
      { layer: 'conv1/conv', name: 'kernel', shape: [1, 1, 1, 2], data: new Float32Array([1, 2]) },
    ]);
  });

  it('round-trips a registry backbone (MobileNetV2) exactly', async () => {
    const spec = getBackbone('mobilenet_v2');
    const a = spec.build({ inputSize: 32 });
    const b = spec.build({ inputSize: 32 });
    const path = join(dir, 'mnv2.h5');
    await writeKerasH5Weights(a, path);
    const x = tf.randomUniform([1, 32, 32, 3], 0, 255, 'float32', 3);
    expect(predict(b, x)).not.toEqual(predict(a, x));
    const report = await loadKerasH5Weights(b, path);
    expect(report.assigned).toBe(a.weights.length);
    expect(predict(b, x)).toEqual(predict(a, x));
    tf.dispose(x);
    a.dispose();
    b.dispose();
  });

  it('loads a Keras-style ConvNeXt depthwise kernel [7,7,1,C] into DepthwiseConv2D by layer order', async () => {
    const input = tf.input({ shape: [8, 8, 4] });
    const dw = tf.layers.depthwiseConv2d({ kernelSize: 7, padding: 'same', name: 'blk_depthwise_conv' });
    const model = tf.model({ inputs: input, outputs: dw.apply(input) as tf.SymbolicTensor });
    const kernel = Float32Array.from({ length: 49 * 4 }, (_, i) => i / 100);
    const path = join(dir, 'grouped.h5');
    await writeKerasH5(path, [
      { name: 'input_7', weights: [] },
      {
        name: 'conv2d_7',
        weights: [
          { name: 'kernel', shape: [7, 7, 1, 4], data: kernel },
          { name: 'bias', shape: [4], data: new Float32Array(4) },
        ],
      },
    ]);
    expect((await loadKerasH5Weights(model, path)).mode).toBe('order');
    const loaded = at(dw.getWeights(), 0);
    expect(loaded.shape).toEqual([7, 7, 4, 1]);
    expect(Array.from(loaded.dataSync())).toEqual(Array.from(kernel));
    model.dispose();
  });

  it('names the mismatching layer and shapes when the file is for another network', async () => {
    const path = join(dir, 'mnv2-other.h5');
    const a = getBackbone('mobilenet_v2').build({ inputSize: 32 });
    await writeKerasH5Weights(a, path);
    a.dispose();
    const v1 = getBackbone('mobilenet_v1').build({ inputSize: 32 });
    await expect(loadKerasH5Weights(v1, path)).rejects.toThrow(
      /^expected the model's \d+ weights for .* but received \d+ weights in the file; is this file for this backbone/,
    );
    v1.dispose();
  });

  it('gives clear errors for a missing file, a non-HDF5 file and a file without layer_names', async () => {
    const model = getBackbone('mobilenet_v2').build({ inputSize: 32 });
    await expect(loadKerasH5Weights(model, join(dir, 'nope.h5'))).rejects.toMatchObject({
      code: 'E_MISSING_FILE',
      message: `expected a weights file for ${join(dir, 'nope.h5')} but received no such file; download it or pass the right path`,
    });
    const junk = join(dir, 'junk.h5');
    await writeFile(junk, 'not hdf5');
    await expect(loadKerasH5Weights(model, junk)).rejects.toThrow(
      `expected a readable HDF5 file for ${junk} but received a file with a bad HDF5 signature; is the download complete?`,
    );
    const h5 = await loadH5wasm();
    const bare = join(dir, 'bare.h5');
    new h5.File(bare, 'w').close();
    await expect(loadKerasH5Weights(model, bare)).rejects.toThrow(
      /^expected a Keras 2 HDF5 weights file \(root attribute "layer_names".* but received an HDF5 file without Keras.s "layer_names" attribute \(top-level entries: .*\); use the official/,
    );
    model.dispose();
  });

  it('names a float16 weight (which h5wasm cannot read) and the fix in one E_WEIGHTS line', async () => {
    // h5wasm writes no float16, so write float32 [2, 3] in the old file format (no metadata checksums) and
    // patch its datatype message to IEEE half and its dims to [4, 3]: the same 24 bytes of storage.
    const h5 = await loadH5wasm();
    const path = join(dir, 'half.h5');
    const file = new h5.File(path, 'w', { libver: ['earliest', 'v108'] });
    file.create_attribute('layer_names', ['dense']);
    file.create_group('dense').create_attribute('weight_names', ['dense/kernel:0']);
    (file.get('dense') as InstanceType<typeof h5.Group>).create_group('dense');
    const inner = file.get('dense/dense') as InstanceType<typeof h5.Group>;
    inner.create_dataset({ name: 'kernel:0', data: new Float32Array(6), shape: [2, 3] });
    file.close();
    const bytes = await readFile(path);
    const patch = (from: number[], to: number[]) => {
      let found = 0;
      for (let i = bytes.indexOf(Buffer.from(from)); i >= 0; i = bytes.indexOf(Buffer.from(from), i + 1)) {
        bytes.set(to, i);
        found++;
      }
      expect(found).toBeGreaterThan(0);
    };
    // datatype message: class float, sign bit 31 -> 15, size 4 -> 2, precision 32 -> 16, exponent 23+8 -> 10+5,
    // mantissa 0+23 -> 0+10, bias 127 -> 15
    patch(
      [0x11, 0x20, 0x1f, 0, 4, 0, 0, 0, 0, 0, 32, 0, 23, 8, 0, 23, 127, 0, 0, 0],
      [0x11, 0x20, 0x0f, 0, 2, 0, 0, 0, 0, 0, 16, 0, 10, 5, 0, 10, 15, 0, 0, 0],
    );
    patch([2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0], [4, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]);
    await writeFile(path, bytes);
    const error = await readKerasH5Weights(path).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'E_WEIGHTS',
      message: `expected float32 or float64 weights for ${path}: dense/dense/kernel:0 but received a float16 dataset (h5wasm cannot read float16); convert the weights to float32 and save them again (in Keras: load the model under the float32 dtype policy, then save_weights)`,
    });
  });
});
