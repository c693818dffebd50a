import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

/** Where the real MobileNet v1 (TF.js layers format) lives, relative to the repo root. */
export const MOBILENET_DIR = join(process.cwd(), '..', 'shared', 'weights', 'mobilenet_v1_1.0_224');

interface Manifest {
  paths: string[];
  weights: { name: string; shape: number[]; dtype: string }[];
}

/** True when the shared MobileNet folder is present. */
export async function hasMobileNet(dir = MOBILENET_DIR): Promise<boolean> {
  return access(join(dir, 'model.json')).then(
    () => true,
    () => false,
  );
}

/** Every weight of the shards that are present, by Keras name (`conv1/kernel`); missing shards are skipped. */
async function readShards(dir: string, manifest: Manifest[]): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const group of manifest) {
    const parts = await Promise.all(group.paths.map((p) => readFile(join(dir, p)).catch(() => null)));
    if (parts.some((p) => p === null)) continue;
    const buf = Buffer.concat(parts as Buffer[]);
    let offset = 0;
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      out.set(
        w.name,
        new Float32Array(buf.buffer.slice(buf.byteOffset + offset, buf.byteOffset + offset + n * 4)),
      );
      offset += n * 4;
    }
  }
  return out;
}

/**
 * Test helper (H3's loader may replace it): Google's Keras MobileNet v1 from model.json, cut after
 * `cutLayer` (default conv_pw_12_relu, as the missing conv_pw_13 shard requires), with the real weights.
 * Input [N, 224, 224, 3] in [-1, 1].
 */
export async function loadTruncatedMobileNet(
  dir = MOBILENET_DIR,
  cutLayer = 'conv_pw_12_relu',
): Promise<tf.LayersModel> {
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
  const full = (await tf.models.modelFromJSON({ modelTopology: json.modelTopology })) as tf.LayersModel;
  const cut = tf.model({
    inputs: full.inputs,
    outputs: full.getLayer(cutLayer).output as tf.SymbolicTensor,
    name: 'mobilenet_v1',
  });
  const shards = await readShards(dir, json.weightsManifest as Manifest[]);
  const values = cut.weights.map((w) => {
    const data = shards.get(w.originalName);
    if (!data) throw new Error(`MobileNet weight ${w.originalName} missing from the shards`);
    return tf.tensor(data, w.shape as number[]);
  });
  cut.setWeights(values);
  tf.dispose(values);
  return cut;
}
