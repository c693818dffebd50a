import { open } from 'node:fs/promises';
import type * as tf from '@tensorflow/tfjs';
import { expected, type LesionlabError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import {
  type AssignReport,
  assignWeights,
  type MatchMode,
  type SourceWeight,
  shortWeightName,
} from '../../core/models/weight-assign.js';

type H5Module = typeof import('h5wasm/node');
type H5Group = InstanceType<H5Module['Group']>;
type H5Dataset = InstanceType<H5Module['Dataset']>;

let h5Promise: Promise<H5Module> | null = null;

/** h5wasm, loaded once and only when an .h5 file is actually read or written. */
export async function loadH5wasm(): Promise<H5Module> {
  h5Promise ??= import('h5wasm/node').then(async (mod) => {
    await mod.ready;
    return mod;
  });
  return h5Promise;
}

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Fails with E_MISSING_FILE / E_WEIGHTS before h5wasm sees a missing or non-HDF5 file. */
async function checkHdf5Signature(path: string): Promise<void> {
  const handle = await open(path, 'r').catch((cause: unknown) => {
    throw expected({
      what: 'a weights file',
      where: path,
      received: 'no such file',
      fix: 'download it or pass the right path',
      code: 'E_MISSING_FILE',
      cause,
    });
  });
  try {
    const head = Buffer.alloc(8);
    await handle.read(head, 0, 8, 0);
    if (!head.equals(HDF5_SIGNATURE)) {
      throw expected({
        what: 'a readable HDF5 file',
        where: path,
        received: 'a file with a bad HDF5 signature',
        fix: 'is the download complete?',
        code: 'E_WEIGHTS',
      });
    }
  } finally {
    await handle.close();
  }
}

const utf8 = new TextDecoder();

/**
 * The names in a Keras name-list attribute (`layer_names`, `weight_names`) as h5py stores them: a list of
 * fixed-length byte strings or of str, one name alone, or — for a layer that owns no weights — an empty
 * float64 array (h5py's encoding of `np.array([])`).
 */
function names(value: unknown, where: string): string[] {
  if (value === null || value === undefined) return [];
  if (typeof value === 'string') return [value];
  if (value instanceof Uint8Array) return [utf8.decode(value)];
  if (ArrayBuffer.isView(value) && (value as unknown as ArrayLike<unknown>).length === 0) return [];
  if (!Array.isArray(value)) {
    throw expected({
      what: 'a list of names',
      where,
      received: Object.prototype.toString.call(value),
      fix: 'is this a Keras weights file?',
      code: 'E_WEIGHTS',
    });
  }
  return value.map((v) => (v instanceof Uint8Array ? utf8.decode(v) : String(v)));
}

function toFloat32(value: unknown, where: string): Float32Array {
  if (value instanceof Float32Array) return value;
  if (value instanceof Float64Array || value instanceof Uint16Array) return Float32Array.from(value);
  throw expected({
    what: 'a float array',
    where,
    received: Object.prototype.toString.call(value),
    fix: 'is this a Keras weights file?',
    code: 'E_WEIGHTS',
  });
}

/** HDF5's class number of floating-point types (H5T_FLOAT), as h5wasm's dataset metadata gives it. */
const H5T_FLOAT = 1;

/**
 * A dataset's values. h5wasm reads float32 and float64 but throws a bare `Error("Float16 not supported")` for
 * float16 (Keras weights saved under a float16 or mixed_float16 policy): that becomes one E_WEIGHTS line.
 */
function datasetValue(ds: H5Dataset, where: string): unknown {
  try {
    return ds.value;
  } catch (cause) {
    const type = ds.metadata as { type?: number; size?: number } | undefined;
    const half = type?.type === H5T_FLOAT && type.size === 2;
    const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    throw expected({
      what: 'float32 or float64 weights',
      where,
      received: half
        ? 'a float16 dataset (h5wasm cannot read float16)'
        : `a dataset h5wasm cannot read (${reason})`,
      fix: half
        ? 'convert the weights to float32 and save them again (in Keras: load the model under the float32 dtype policy, then save_weights)'
        : 'is this a Keras weights file?',
      code: 'E_WEIGHTS',
      cause,
    });
  }
}

/**
 * The layer that owns a weight: the scope of its Keras name (`conv1/conv/kernel:0` -> `conv1/conv`). It is
 * the group's own name except inside a nested model, whose group (e.g. ConvNeXt's Sequential
 * `convnext_small_stem`) holds the weights of its inner layers (`convnext_small_stem_conv/kernel:0`).
 */
function owningLayer(weightName: string, group: string): string {
  const slash = weightName.lastIndexOf('/');
  return slash > 0 ? weightName.slice(0, slash) : group;
}

function readLayer(root: H5Group, layer: string, path: string): SourceWeight[] {
  const group = root.get(layer) as H5Group | null;
  if (group === null)
    throw expected({
      what: `a group for the layer "${layer}" listed in layer_names`,
      where: path,
      received: 'none',
      fix: 'the file is damaged; download it again',
      code: 'E_WEIGHTS',
    });
  return names(group.attrs['weight_names']?.value, `${path}: ${layer}/weight_names`).map((weightName) => {
    const ds = group.get(weightName) as H5Dataset | null;
    if (ds === null)
      throw expected({
        what: `the listed weight "${layer}/${weightName}"`,
        where: path,
        received: 'none (it is missing)',
        fix: 'the file is damaged; download it again',
        code: 'E_WEIGHTS',
      });
    const where = `${path}: ${layer}/${weightName}`;
    return {
      layer: owningLayer(weightName, layer),
      name: shortWeightName(weightName),
      shape: ds.shape ?? [],
      data: toFloat32(datasetValue(ds, where), where),
    };
  });
}

/**
 * Reads every weight of a Keras 2 HDF5 weights file (`save_weights` or a full `model.save` file with
 * `model_weights`), in the file's layer order: root attribute `layer_names`, per layer `weight_names`.
 */
export async function readKerasH5Weights(path: string): Promise<SourceWeight[]> {
  await checkHdf5Signature(path);
  const h5 = await loadH5wasm();
  const file = new h5.File(path, 'r');
  try {
    const root = (file.get('model_weights') as H5Group | null) ?? file;
    const layerNames = names(root.attrs['layer_names']?.value, `${path}: layer_names`);
    if (layerNames.length === 0) throw notKeras2(path, root);
    return layerNames.flatMap((layer) => readLayer(root, layer, path));
  } finally {
    file.close();
  }
}

/** The error for an HDF5 file without `layer_names`: says which layout it found and which one is read. */
function notKeras2(path: string, root: H5Group): LesionlabError {
  const keys = root.keys();
  const keras3 = keys.includes('layers') || keys.includes('vars');
  const found = keras3
    ? 'a Keras 3 ".weights.h5" file (groups layers/<name>/vars/<i>, no variable names)'
    : `an HDF5 file without Keras's "layer_names" attribute (top-level entries: ${keys.slice(0, 5).join(', ') || 'none'})`;
  return expected({
    what: `a Keras 2 HDF5 weights file (root attribute "layer_names", as keras.applications' *_notop.h5 downloads and tf-keras save_weights("x.h5") write)`,
    where: path,
    received: found,
    fix: 'use the official *_notop.h5 file or re-save the weights with tf-keras',
    code: 'E_WEIGHTS',
  });
}

/** Options of {@link loadKerasH5Weights}. */
export interface KerasH5LoadOptions {
  readonly match?: MatchMode;
  readonly allowUnused?: boolean;
  readonly logger?: Logger;
}

/**
 * Loads a Keras .h5 weight file into a registry backbone, matched by layer order (or by name when all
 * names agree) with every shape checked; an E_WEIGHTS error names the first mismatching layer.
 */
export async function loadKerasH5Weights(
  model: tf.LayersModel,
  path: string,
  options: KerasH5LoadOptions = {},
): Promise<AssignReport> {
  const weights = await readKerasH5Weights(path);
  return assignWeights(model, weights, { source: path, ...options });
}
