import { applyActivation } from './activations.js';
import {
  type LayerContext,
  type LayerConverter,
  num,
  out,
  pair,
  requireChannelsLast,
  unsupported,
} from './context.js';
import { samePads } from './convert-conv.js';
import { physicalAxis, type Value } from './graph.js';
import type { AttrValue } from './proto.js';
import { layerWeights, requireWeight } from './weights.js';

const identity: LayerConverter = (ctx) => ({ ...ctx.input, shape: ctx.outputShape });

const activation: LayerConverter = (ctx) =>
  applyActivation(ctx.g, ctx.input, ctx.config['activation'], ctx.layer.name, ctx.layer.name);

/** ReLU layer: max(x, 0), capped at `maxValue` when set. */
const relu: LayerConverter = (ctx) => {
  const max = ctx.config['maxValue'];
  if (typeof max !== 'number') return activation({ ...ctx, config: { activation: 'relu' } });
  const { g, layer } = ctx;
  const x = ctx.input;
  const min = g.scalar(`${layer.name}_min`, 0);
  return { ...x, name: g.node('Clip', [x.name, min, g.scalar(`${layer.name}_max`, max)], layer.name) };
};

const withAlpha =
  (op: string, fallback: number): LayerConverter =>
  (ctx) => {
    const x = ctx.input;
    return {
      ...x,
      name: ctx.g.node(op, [x.name], ctx.layer.name, { alpha: { f: num(ctx, 'alpha', fallback) } }),
    };
  };

const softmaxLayer: LayerConverter = (ctx) => {
  const x = ctx.input;
  const axis = physicalAxis(x, num(ctx, 'axis', -1));
  return { ...x, name: ctx.g.node('Softmax', [x.name], ctx.layer.name, { axis }) };
};

/** ZeroPadding2D as an NCHW Pad ([[top, bottom], [left, right]]). */
const zeroPadding2d: LayerConverter = (ctx) => {
  requireChannelsLast(ctx);
  const p = ctx.config['padding'] as [[number, number], [number, number]];
  const { g, layer } = ctx;
  const x = g.toLayout(ctx.input, 'nchw');
  const pads = g.ints(`${layer.name}_pads`, [0, 0, p[0][0], p[1][0], 0, 0, p[0][1], p[1][1]]);
  const y = out(ctx, g.node('Pad', [x.name, pads], layer.name, { mode: 'constant' }), 'nchw');
  g.zeroPadded.set(y.name, { source: x, pads: [p[0][0], p[1][0], p[0][1], p[1][1]] });
  return y;
};

/**
 * -inf where a pooling window lies fully inside the image, 0 where it touches the zero padding:
 * Max(MaxPool with pads, mask) equals MaxPool(ZeroPad(x)) exactly.
 */
function zeroPadMask(
  inSize: readonly [number, number],
  pads: readonly [number, number, number, number],
  kernel: readonly [number, number],
  strides: readonly [number, number],
): { data: Float32Array; rows: number; cols: number } {
  const [top, left, bottom, right] = pads;
  const rows = windowsTouchingPadding(inSize[0], top, bottom, kernel[0], strides[0]);
  const cols = windowsTouchingPadding(inSize[1], left, right, kernel[1], strides[1]);
  const data = new Float32Array(rows.length * cols.length);
  rows.forEach((rowTouches, i) => {
    cols.forEach((colTouches, j) => {
      data[i * cols.length + j] = rowTouches || colTouches ? 0 : -Infinity;
    });
  });
  return { data, rows: rows.length, cols: cols.length };
}

/** Along one axis, for each output position: does its pooling window reach into the padding? */
function windowsTouchingPadding(
  size: number,
  before: number,
  after: number,
  kernel: number,
  stride: number,
): boolean[] {
  const count = Math.floor((size + before + after - kernel) / stride) + 1;
  return Array.from({ length: count }, (_, i) => i * stride < before || i * stride + kernel > before + size);
}

/**
 * ZeroPadding2D -> MaxPooling2D 'valid' as MaxPool(pads) + Max(mask), which skips the Pad copy. Only
 * for a static size, pads smaller than the kernel (ONNX Runtime refuses larger MaxPool pads) and a
 * source that is not itself zero-padded (its Pad would be fused into this MaxPool's -inf padding);
 * every other case keeps the Pad and pools it with `auto_pad` (see {@link poolPadding}).
 */
function paddedMaxPool(
  ctx: LayerContext,
  x: Value,
  kernel: [number, number],
  strides: [number, number],
): Value | undefined {
  const padded = ctx.g.zeroPadded.get(x.name);
  const { source } = padded ?? {};
  const [height, width] = [source?.shape[1], source?.shape[2]];
  if (!padded || !source || (ctx.config['padding'] ?? 'valid') !== 'valid' || height == null || width == null)
    return;
  if (ctx.g.zeroPadded.has(source.name)) return;
  const [top, left, bottom, right] = padded.pads;
  if (top >= kernel[0] || left >= kernel[1] || bottom >= kernel[0] || right >= kernel[1]) return;
  const { g, layer } = ctx;
  const attrs = { kernel_shape: kernel, strides, pads: [...padded.pads] };
  const pooled = g.node('MaxPool', [source.name], `${layer.name}_pool`, attrs);
  // The mask has the pooled output's size (valid pooling of the padded input).
  const mask = zeroPadMask([height, width], padded.pads, kernel, strides);
  const maskName = g.floats(`${layer.name}_padmask`, [1, 1, mask.rows, mask.cols], mask.data);
  return out(ctx, g.node('Max', [pooled, maskName], layer.name), 'nchw');
}

/**
 * Keras pool padding as `auto_pad` (VALID, or SAME_UPPER: TensorFlow's rule, the odd pixel bottom/right),
 * never explicit `pads`. ONNX Runtime's PadFusion (graph optimisation level basic and above, in
 * onnxruntime-node and -web alike) folds a zero Pad into the explicit pads of a following
 * MaxPool/AveragePool; MaxPool pads with -inf and Keras 'same' average pooling excludes padding from the
 * count, so the ZeroPadding2D zeros, real values that a max or mean must see, would be lost (and MaxPool
 * pads >= the kernel fail to load). PadFusion leaves nodes with `auto_pad` other than NOTSET alone.
 */
function poolPadding(
  ctx: LayerContext,
  x: Value,
  kernel: readonly [number, number],
  strides: readonly [number, number],
): Record<string, AttrValue> {
  const padding = ctx.config['padding'] ?? 'valid';
  if (padding === 'valid') return { auto_pad: 'VALID' };
  if (padding !== 'same') throw unsupported(ctx, `padding "${String(padding)}"`, 'valid, same');
  if (kernel[0] >= strides[0] && kernel[1] >= strides[1]) return { auto_pad: 'SAME_UPPER' };
  return narrowSamePadding(ctx, x, kernel, strides);
}

/**
 * 'same' pooling with a window smaller than its stride: TensorFlow clamps the total pad
 * (out - 1) x stride + kernel - size at 0, ONNX Runtime's SAME_UPPER does not (a negative pad fails every
 * forward pass). With a static size the pads are written out: none (VALID, the same output size) or TF's
 * bottom/right ones, explicitly, which is safe unless a zero Pad precedes the pool (PadFusion, see above).
 */
function narrowSamePadding(
  ctx: LayerContext,
  x: Value,
  kernel: readonly [number, number],
  strides: readonly [number, number],
): Record<string, AttrValue> {
  const [height, width] = [ctx.input.shape[1], ctx.input.shape[2]];
  if (height == null || width == null)
    throw unsupported(
      ctx,
      "'same' padding with a pool window smaller than its stride on an unknown size",
      'a fixed input size',
    );
  const pads = samePads([height, width], kernel, strides);
  if (pads.every((p) => p === 0)) return { auto_pad: 'VALID' };
  if (ctx.g.zeroPadded.has(x.name))
    throw unsupported(
      ctx,
      "'same' padding with a pool window smaller than its stride after ZeroPadding2D",
      "'valid' padding",
    );
  return { pads };
}

const pool =
  (op: 'MaxPool' | 'AveragePool'): LayerConverter =>
  (ctx) => {
    requireChannelsLast(ctx);
    const { g, layer } = ctx;
    const x = g.toLayout(ctx.input, 'nchw');
    const kernel = pair(ctx, 'poolSize', 2);
    const strides = ctx.config['strides'] == null ? kernel : pair(ctx, 'strides', 1);
    const fused = op === 'MaxPool' ? paddedMaxPool(ctx, x, kernel, strides) : undefined;
    if (fused) return fused;
    // Keras 'same' average pooling divides by the count of real pixels: count_include_pad = 0.
    const extra: Record<string, AttrValue> = op === 'AveragePool' ? { count_include_pad: 0 } : {};
    const attrs = { ...poolPadding(ctx, x, kernel, strides), kernel_shape: kernel, strides, ...extra };
    return out(ctx, g.node(op, [x.name], layer.name, attrs), 'nchw');
  };

const globalPool =
  (op: 'GlobalAveragePool' | 'GlobalMaxPool'): LayerConverter =>
  (ctx) => {
    requireChannelsLast(ctx);
    const { g, layer } = ctx;
    const x = g.toLayout(ctx.input, 'nchw');
    const pooled = g.node(op, [x.name], ctx.config['keepDims'] === true ? layer.name : `${layer.name}_pool`);
    if (ctx.config['keepDims'] === true) return out(ctx, pooled, 'nchw');
    return out(ctx, g.node('Flatten', [pooled], layer.name, { axis: 1 }), 'keras');
  };

/** Inputs of a merge layer in one layout (the first input's, so the first comes back as it is). */
function sameLayout(ctx: LayerContext): Value[] {
  const layout = ctx.input.layout;
  return ctx.inputs.map((v) => ctx.g.toLayout(v, layout));
}

const concatenate: LayerConverter = (ctx) => {
  const xs = sameLayout(ctx);
  const axis = physicalAxis(ctx.input, num(ctx, 'axis', -1));
  const y = ctx.g.node(
    'Concat',
    xs.map((v) => v.name),
    ctx.layer.name,
    { axis },
  );
  return out(ctx, y, ctx.input.layout);
};

const merge =
  (op: string): LayerConverter =>
  (ctx) => {
    const xs = sameLayout(ctx);
    return out(
      ctx,
      ctx.g.node(
        op,
        xs.map((v) => v.name),
        ctx.layer.name,
      ),
      ctx.input.layout,
    );
  };

/** Multiply / Subtract: binary ONNX ops chained left to right. */
const chain =
  (op: string): LayerConverter =>
  (ctx) => {
    const xs = sameLayout(ctx);
    let acc = ctx.input.name;
    xs.slice(1).forEach((v, i) => {
      acc = ctx.g.node(op, [acc, v.name], i === xs.length - 2 ? ctx.layer.name : `${ctx.layer.name}_${i}`);
    });
    return out(ctx, acc, ctx.input.layout);
  };

/** Flatten in Keras (channels-last) order. */
const flatten: LayerConverter = (ctx) => {
  const x = ctx.g.toLayout(ctx.input, 'keras');
  return out(ctx, ctx.g.node('Flatten', [x.name], ctx.layer.name, { axis: 1 }), 'keras');
};

const reshape: LayerConverter = (ctx) => {
  const x = ctx.g.toLayout(ctx.input, 'keras');
  const target = ctx.config['targetShape'] as number[];
  const shape = ctx.g.ints(`${ctx.layer.name}_shape`, [0, ...target]);
  return out(ctx, ctx.g.node('Reshape', [x.name, shape], ctx.layer.name), 'keras');
};

/** x * scale + offset. */
const rescaling: LayerConverter = (ctx) => {
  const { g, layer } = ctx;
  const x = ctx.input;
  const scaled = g.node(
    'Mul',
    [x.name, g.scalar(`${layer.name}_scale`, num(ctx, 'scale', 1))],
    `${layer.name}_mul`,
  );
  const y = g.node('Add', [scaled, g.scalar(`${layer.name}_offset`, num(ctx, 'offset', 0))], layer.name);
  return { ...x, name: y };
};

/** Per-channel constant shaped to broadcast over a value's channel axis. */
function channelConst(ctx: LayerContext, x: Value, hint: string, values: readonly number[]): string {
  const dims = x.layout === 'nchw' ? [values.length, 1, 1] : [values.length];
  return ctx.g.floats(hint, dims, Float32Array.from(values));
}

/** Custom `InputNormalization`: (x - mean) / std per channel. */
const inputNormalization: LayerConverter = (ctx) => {
  const { g, layer } = ctx;
  const x = ctx.input;
  const mean = channelConst(ctx, x, `${layer.name}_mean`, ctx.config['mean'] as number[]);
  const std = channelConst(ctx, x, `${layer.name}_std`, ctx.config['std'] as number[]);
  const centred = g.node('Sub', [x.name, mean], `${layer.name}_sub`);
  return { ...x, name: g.node('Div', [centred, std], layer.name) };
};

/** Custom `ScaledResidual`: shortcut + scale * residual. */
const scaledResidual: LayerConverter = (ctx) => {
  const { g, layer } = ctx;
  const [shortcut, residual] = sameLayout(ctx) as [Value, Value];
  const scaled = g.node(
    'Mul',
    [residual.name, g.scalar(`${layer.name}_scale`, num(ctx, 'scale', 1))],
    `${layer.name}_mul`,
  );
  return out(ctx, g.node('Add', [shortcut.name, scaled], layer.name), shortcut.layout);
};

/** Custom `LayerScale`: x * gamma over the channel axis. */
const layerScale: LayerConverter = (ctx) => {
  const x = ctx.input;
  const gamma = requireWeight(layerWeights(ctx.layer), 'gamma', ctx.layer.name);
  const g = channelConst(ctx, x, `${ctx.layer.name}_gamma`, Array.from(gamma.data));
  return { ...x, name: ctx.g.node('Mul', [x.name, g], ctx.layer.name) };
};

/** Converters for layers without learned weights (and the custom lesionlab layers), by class name. */
export const BASIC_CONVERTERS: Record<string, LayerConverter> = {
  Activation: activation,
  ReLU: relu,
  LeakyReLU: withAlpha('LeakyRelu', 0.3),
  ELU: withAlpha('Elu', 1),
  Softmax: softmaxLayer,
  ZeroPadding2D: zeroPadding2d,
  MaxPooling2D: pool('MaxPool'),
  AveragePooling2D: pool('AveragePool'),
  GlobalAveragePooling2D: globalPool('GlobalAveragePool'),
  GlobalMaxPooling2D: globalPool('GlobalMaxPool'),
  Concatenate: concatenate,
  Add: chain('Add'),
  Average: merge('Mean'),
  Maximum: merge('Max'),
  Minimum: merge('Min'),
  Multiply: chain('Mul'),
  Subtract: chain('Sub'),
  Flatten: flatten,
  Reshape: reshape,
  Rescaling: rescaling,
  Dropout: identity,
  SpatialDropout1D: identity,
  SpatialDropout2D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
  StochasticDepth: identity,
  InputNormalization: inputNormalization,
  ScaledResidual: scaledResidual,
  LayerScale: layerScale,
};
