import type * as tf from '@tensorflow/tfjs';
import { expectedOneOf } from '../errors.js';
import { IMAGENET_MEAN_STD, MINUS_ONE_TO_ONE, type Normalization } from '../preprocess/spec.js';
import type { BuildOptions } from './backbones/common.js';
import { buildConvNeXt, CONVNEXT_SMALL, convNeXtBlocks } from './backbones/convnext.js';
import { buildDenseNet121, denseNet121Blocks } from './backbones/densenet.js';
import { buildInceptionResNetV2, inceptionResNetV2Blocks } from './backbones/inception-resnet-v2.js';
import {
  buildMobileNetV1,
  buildMobileNetV2,
  mobileNetV1Blocks,
  mobileNetV2Blocks,
} from './backbones/mobilenet.js';

export type { BuildOptions } from './backbones/common.js';

/** The backbones lesionlab can build. */
export type BackboneName =
  | 'inception_resnet_v2'
  | 'densenet121'
  | 'convnext_small'
  | 'mobilenet_v1'
  | 'mobilenet_v2';

/** One official Keras weight file (ImageNet, without top), with the hash Keras's sources give. */
export interface WeightFile {
  readonly url: string;
  readonly fileName: string;
  /** Hex digest as in keras.applications (`null`: Keras gives none, so only the size is trusted). */
  readonly hash: string | null;
  readonly hashAlgorithm: 'md5' | 'sha256' | null;
}

/** A local copy of a backbone's ImageNet weights, tried before any download. */
export interface LocalWeights {
  /** Path relative to the lesionlab package root (`weights/...` in the repo, `../shared/...` beside it). */
  readonly path: string;
  /** A Keras `.h5` file, or a TF.js layers-format folder (its `model.json` and shards). */
  readonly format: 'keras-h5' | 'tfjs-layers';
  /** sha256 of the file, checked on every load (`null`: not pinned). */
  readonly sha256: string | null;
}

/**
 * Where a backbone's ImageNet weights come from, in the order they are tried: an explicit path, the
 * environment variable `env`, each of `local`, then `official` (downloaded into the cache).
 */
export interface WeightSources {
  /** Environment variable naming a local `.h5` file or TF.js layers folder. */
  readonly env: string;
  readonly local: readonly LocalWeights[];
  /** Official ImageNet weights (Keras HDF5, notop). */
  readonly official: WeightFile;
}

/** A contiguous run of layers that partial unfreezing treats as one unit; ends at `lastLayer`. */
export interface BackboneBlock {
  readonly name: string;
  readonly lastLayer: string;
}

/** Everything lesionlab knows about one backbone; the single source for CLI choices, docs and tests. */
export interface BackboneSpec {
  readonly name: BackboneName;
  readonly displayName: string;
  /** Native square input side in pixels. */
  readonly inputSize: number;
  /** Smallest input side the network accepts (Keras's `min_size`). */
  readonly minInputSize: number;
  /** Normalisation of 0..255 RGB, done by the model's own InputNormalization layer. */
  readonly normalization: Normalization;
  /** Channels of the output feature map (= pooled feature width). */
  readonly featureWidth: number;
  /** Parameters without the top, exactly as keras.applications counts them. */
  readonly kerasParams: number;
  /** Approximate multiply-accumulates per image at the native size, in billions. */
  readonly gmacs: number;
  /** Blocks from input to output, for partial unfreezing (`setTrainableTop`, fine-tuning's `splitAtBlock`). */
  readonly blocks: readonly BackboneBlock[];
  /** Where the ImageNet weights come from: environment variable, local copies, official download. */
  readonly weights: WeightSources;
  /** Recommended exact dihedral views per image at test time (extraction cost grows linearly with it). */
  readonly testViews: number;
  /** Builds the network with random weights (synchronous, pure). */
  build(options?: BuildOptions): tf.LayersModel;
}

const KERAS_APPS = 'https://storage.googleapis.com/tensorflow/keras-applications/';

function weightFile(dir: string, fileName: string, hash: string | null): WeightFile {
  const hashAlgorithm = hash === null ? null : hash.length === 64 ? 'sha256' : 'md5';
  return { url: `${KERAS_APPS}${dir}/${fileName}`, fileName, hash, hashAlgorithm };
}

function sources(env: string, official: WeightFile, local: readonly LocalWeights[] = []): WeightSources {
  return { env, local, official };
}

const MOBILENET_V2_H5 = 'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5';
/** sha256 of the MobileNetV2 .h5 committed under weights/ and kept in ../shared (see its README). */
const MOBILENET_V2_SHA256 = '296b9d43986d8ee24006ff8ed4e96a68f3ee74665eac5ffcddc06f8d0764dada';

/** The backbone registry, by name. */
export const BACKBONES: Readonly<Record<BackboneName, BackboneSpec>> = {
  inception_resnet_v2: {
    name: 'inception_resnet_v2',
    displayName: 'InceptionResNetV2',
    inputSize: 299,
    minInputSize: 75,
    normalization: MINUS_ONE_TO_ONE,
    featureWidth: 1536,
    kerasParams: 54_336_736,
    gmacs: 13.17,
    blocks: inceptionResNetV2Blocks(),
    weights: sources(
      'LESIONLAB_INCEPTION_RESNET_V2_WEIGHTS',
      weightFile(
        'inception_resnet_v2',
        'inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5',
        'd19885ff4a710c122648d3b5c3b684e4',
      ),
    ),
    testViews: 1,
    build: buildInceptionResNetV2,
  },
  densenet121: {
    name: 'densenet121',
    displayName: 'DenseNet121',
    inputSize: 224,
    minInputSize: 32,
    normalization: IMAGENET_MEAN_STD,
    featureWidth: 1024,
    kerasParams: 7_037_504,
    gmacs: 2.83,
    blocks: denseNet121Blocks(),
    weights: sources(
      'LESIONLAB_DENSENET121_WEIGHTS',
      weightFile(
        'densenet',
        'densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5',
        '30ee3e1110167f948a6b9946edeeb738',
      ),
    ),
    testViews: 2,
    build: buildDenseNet121,
  },
  convnext_small: {
    name: 'convnext_small',
    displayName: 'ConvNeXt-Small',
    inputSize: 224,
    minInputSize: 32,
    normalization: IMAGENET_MEAN_STD,
    featureWidth: 768,
    kerasParams: 49_454_688,
    gmacs: 8.68,
    blocks: convNeXtBlocks(CONVNEXT_SMALL),
    weights: sources(
      'LESIONLAB_CONVNEXT_SMALL_WEIGHTS',
      weightFile(
        'convnext',
        'convnext_small_notop.h5',
        '6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab',
      ),
    ),
    testViews: 1,
    build: (options) => buildConvNeXt(CONVNEXT_SMALL, options),
  },
  mobilenet_v1: {
    name: 'mobilenet_v1',
    displayName: 'MobileNet v1 (1.0)',
    inputSize: 224,
    minInputSize: 32,
    normalization: MINUS_ONE_TO_ONE,
    featureWidth: 1024,
    kerasParams: 3_228_864,
    gmacs: 0.57,
    blocks: mobileNetV1Blocks(),
    weights: sources(
      'LESIONLAB_MOBILENET_DIR',
      weightFile('mobilenet', 'mobilenet_1_0_224_tf_no_top.h5', null),
      [{ path: '../shared/weights/mobilenet_v1_1.0_224', format: 'tfjs-layers', sha256: null }],
    ),
    testViews: 4,
    build: buildMobileNetV1,
  },
  mobilenet_v2: {
    name: 'mobilenet_v2',
    displayName: 'MobileNetV2 (1.0)',
    inputSize: 224,
    minInputSize: 32,
    normalization: MINUS_ONE_TO_ONE,
    featureWidth: 1280,
    kerasParams: 2_257_984,
    gmacs: 0.3,
    blocks: mobileNetV2Blocks(),
    weights: sources('LESIONLAB_MOBILENET_V2_WEIGHTS', weightFile('mobilenet_v2', MOBILENET_V2_H5, null), [
      {
        path: `weights/mobilenet_v2_1.0_224/${MOBILENET_V2_H5}`,
        format: 'keras-h5',
        sha256: MOBILENET_V2_SHA256,
      },
      {
        path: `../shared/weights/mobilenet_v2_1.0_224/${MOBILENET_V2_H5}`,
        format: 'keras-h5',
        sha256: MOBILENET_V2_SHA256,
      },
    ]),
    testViews: 4,
    build: buildMobileNetV2,
  },
};

/** Names of all registered backbones, in registry order (a non-empty tuple, so `z.enum` takes it). */
export const BACKBONE_NAMES = Object.keys(BACKBONES) as [BackboneName, ...BackboneName[]];

/** True when `name` is a registered backbone. */
export function isBackboneName(name: string): name is BackboneName {
  return Object.hasOwn(BACKBONES, name);
}

/** The spec of a backbone; an unknown name throws E_UNKNOWN_MODEL listing the valid ones. */
export function getBackbone(name: string): BackboneSpec {
  if (!isBackboneName(name)) {
    throw expectedOneOf(BACKBONE_NAMES, {
      where: 'the backbone',
      received: name,
      fix: 'check the spelling',
      code: 'E_UNKNOWN_MODEL',
    });
  }
  return BACKBONES[name];
}
