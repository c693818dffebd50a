import { expected } from '../errors.js';
import { at } from '../util/at.js';
import { applyActivation } from './activations.js';
import {
  type LayerContext,
  type LayerConverter,
  num,
  out,
  pair,
  requireChannelsLast,
  singleAxis,
  unsupported,
} from './context.js';
import type { Value } from './graph.js';
import type { AttrValue } from './proto.js';
import { kernelDims, layerWeights, permute, requireWeight, type WeightArray } from './weights.js';

/**
 * Keras padding as ONNX attributes. 'same' becomes explicit pads [top, left, bottom, right] from the
 * static input size, with the odd pixel bottom/right as TensorFlow does; an unknown size falls back to
 * `auto_pad: SAME_UPPER` (the same rule).
 */
export function padAttrs(
  ctx: LayerContext,
  x: Value,
  kernel: readonly [number, number],
  strides: readonly [number, number],
  dilation: readonly [number, number] = [1, 1],
): Record<string, AttrValue> {
  const padding = ctx.config['padding'] ?? 'valid';
  if (padding === 'valid') return { pads: [0, 0, 0, 0] };
  if (padding !== 'same') throw unsupported(ctx, `padding "${String(padding)}"`, 'valid, same');
  const [height, width] = [x.shape[1], x.shape[2]];
  if (height == null || width == null) return { auto_pad: 'SAME_UPPER' };
  return { pads: samePads([height, width], kernel, strides, dilation) };
}

/**
 * TensorFlow's 'same' pads [top, left, bottom, right] for a static `[height, width]`: the total
 * (out - 1) x stride + dilated kernel - size, clamped at 0, with the odd pixel bottom/right.
 */
export function samePads(
  size: readonly [number, number],
  kernel: readonly [number, number],
  strides: readonly [number, number],
  dilation: readonly [number, number] = [1, 1],
): [number, number, number, number] {
  const total = (axis: 0 | 1): number => {
    const outSize = Math.ceil(size[axis] / strides[axis]);
    return Math.max((outSize - 1) * strides[axis] + (kernel[axis] - 1) * dilation[axis] + 1 - size[axis], 0);
  };
  const [totalH, totalW] = [total(0), total(1)];
  const [top, left] = [Math.floor(totalH / 2), Math.floor(totalW / 2)];
  return [top, left, totalH - top, totalW - left];
}

/** Adds an NCHW Conv node from a Keras kernel already in ONNX [out, in/group, kh, kw] order. */
function conv(
  ctx: LayerContext,
  x: Value,
  w: { data: Float32Array; dims: number[] },
  bias: WeightArray | undefined,
  attrs: Record<string, AttrValue>,
  hint: string,
): string {
  const { g } = ctx;
  const inputs = [x.name, g.floats(`${hint}_W`, w.dims, w.data)];
  if (bias) inputs.push(g.floats(`${hint}_B`, bias.shape, bias.data));
  return g.node('Conv', inputs, hint, attrs);
}

/** Kernel [kh, kw, in, out] (Keras) to [out, in, kh, kw] (ONNX). */
function convKernel(k: WeightArray): { data: Float32Array; dims: number[] } {
  const [data, dims] = permute(k.data, k.shape, [3, 2, 0, 1]);
  return { data, dims };
}

/** Depthwise kernel [kh, kw, in, mult] to grouped [in * mult, 1, kh, kw] (output channel c * mult + m). */
function depthwiseKernel(k: WeightArray, layer: string): { data: Float32Array; dims: number[] } {
  const [kh, kw, channels, multiplier] = kernelDims(k, layer);
  const [data] = permute(k.data, k.shape, [2, 3, 0, 1]);
  return { data, dims: [channels * multiplier, 1, kh, kw] };
}

function spatialAttrs(ctx: LayerContext, x: Value, kernel: [number, number]): Record<string, AttrValue> {
  const strides = pair(ctx, 'strides', 1);
  const dilations = pair(ctx, 'dilationRate', 1);
  return { ...padAttrs(ctx, x, kernel, strides, dilations), strides, dilations, kernel_shape: kernel };
}

const conv2d: LayerConverter = (ctx) => {
  requireChannelsLast(ctx);
  const w = layerWeights(ctx.layer);
  const kernel = requireWeight(w, 'kernel', ctx.layer.name);
  const [kh, kw] = kernelDims(kernel, ctx.layer.name);
  const x = ctx.g.toLayout(ctx.input, 'nchw');
  const attrs = { ...spatialAttrs(ctx, x, [kh, kw]), group: 1 };
  const y = out(ctx, conv(ctx, x, convKernel(kernel), w.get('bias'), attrs, ctx.layer.name), 'nchw');
  return applyActivation(ctx.g, y, ctx.config['activation'], `${ctx.layer.name}_act`, ctx.layer.name);
};

/**
 * DepthwiseConv2D with a dilation rate other than 1 is refused: tfjs-layers 4.22 computes the layer without
 * dilation (its call() passes no dilation to the op) while Keras dilates, so no ONNX graph matches both.
 */
function requireUndilatedDepthwise(ctx: LayerContext): void {
  const [dh, dw] = pair(ctx, 'dilationRate', 1);
  if (dh === 1 && dw === 1) return;
  throw expected({
    what: 'a DepthwiseConv2D with dilationRate 1',
    where: `the layer "${ctx.layer.name}"`,
    received: `dilationRate [${dh}, ${dw}] (TF.js computes this layer without dilation, Keras with it: no export can match both)`,
    fix: 'use dilationRate 1, or a SeparableConv2D / Conv2D, which TF.js dilates',
    code: 'E_ONNX',
  });
}

const depthwiseConv2d: LayerConverter = (ctx) => {
  requireChannelsLast(ctx);
  requireUndilatedDepthwise(ctx);
  const w = layerWeights(ctx.layer);
  const kernel = requireWeight(w, 'depthwise_kernel', ctx.layer.name);
  const [kh, kw, channels] = kernelDims(kernel, ctx.layer.name);
  const x = ctx.g.toLayout(ctx.input, 'nchw');
  const attrs = { ...spatialAttrs(ctx, x, [kh, kw]), group: channels };
  const y = out(
    ctx,
    conv(ctx, x, depthwiseKernel(kernel, ctx.layer.name), w.get('bias'), attrs, ctx.layer.name),
    'nchw',
  );
  return applyActivation(ctx.g, y, ctx.config['activation'], `${ctx.layer.name}_act`, ctx.layer.name);
};

const separableConv2d: LayerConverter = (ctx) => {
  requireChannelsLast(ctx);
  const w = layerWeights(ctx.layer);
  const name = ctx.layer.name;
  const dk = requireWeight(w, 'depthwise_kernel', name);
  const pk = requireWeight(w, 'pointwise_kernel', name);
  const [kh, kw, channels] = kernelDims(dk, name);
  const x = ctx.g.toLayout(ctx.input, 'nchw');
  const attrs = { ...spatialAttrs(ctx, x, [kh, kw]), group: channels };
  const dw = conv(ctx, x, depthwiseKernel(dk, name), undefined, attrs, `${name}_depthwise`);
  const pwAttrs = { kernel_shape: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], group: 1 };
  const y = out(ctx, conv(ctx, { ...x, name: dw }, convKernel(pk), w.get('bias'), pwAttrs, name), 'nchw');
  return applyActivation(ctx.g, y, ctx.config['activation'], `${name}_act`, name);
};

/** Dense on [N, in] (Gemm), on NCHW maps (1x1 Conv) or on channels-last tensors (MatMul + Add). */
const dense: LayerConverter = (ctx) => {
  const { g } = ctx;
  const name = ctx.layer.name;
  const w = layerWeights(ctx.layer);
  const kernel = requireWeight(w, 'kernel', name);
  const bias = w.get('bias');
  const x = ctx.input;
  let y: string;
  if (x.shape.length === 4 && x.layout === 'nchw') {
    const [data, dims] = permute(kernel.data, kernel.shape, [1, 0]);
    const attrs = { kernel_shape: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], group: 1 };
    y = conv(ctx, x, { data, dims: [...dims, 1, 1] }, bias, attrs, name);
  } else if (x.shape.length === 2) {
    const inputs = [x.name, g.floats(`${name}_W`, kernel.shape, kernel.data)];
    if (bias) inputs.push(g.floats(`${name}_B`, bias.shape, bias.data));
    y = g.node('Gemm', inputs, name);
  } else {
    const mm = g.node('MatMul', [x.name, g.floats(`${name}_W`, kernel.shape, kernel.data)], `${name}_matmul`);
    y = bias ? g.node('Add', [mm, g.floats(`${name}_B`, bias.shape, bias.data)], name) : mm;
  }
  const yv = out(ctx, y, x.layout);
  return applyActivation(g, yv, ctx.config['activation'], `${name}_act`, name);
};

function onesOr(w: WeightArray | undefined, n: number, fill: number): WeightArray {
  return w ?? { shape: [n], data: new Float32Array(n).fill(fill) };
}

/** Inference BatchNormalization over the channel axis (ORT folds it into the preceding Conv). */
const batchNormalization: LayerConverter = (ctx) => {
  const { g } = ctx;
  const name = ctx.layer.name;
  const rank = ctx.input.shape.length;
  if (singleAxis(ctx, 'axis', rank) !== rank - 1 || (rank !== 2 && rank !== 4)) {
    throw unsupported(
      ctx,
      `axis ${JSON.stringify(ctx.config['axis'])} on rank ${rank}`,
      'last axis of rank 2 or 4',
    );
  }
  const w = layerWeights(ctx.layer);
  const mean = requireWeight(w, 'moving_mean', name);
  const n = at(mean.shape, 0);
  const params = {
    scale: onesOr(w.get('gamma'), n, 1),
    B: onesOr(w.get('beta'), n, 0),
    mean,
    var: requireWeight(w, 'moving_variance', name),
  };
  const names = Object.entries(params).map(([s, p]) => g.floats(`${name}_${s}`, [n], p.data));
  const x = g.toLayout(ctx.input, 'nchw');
  const y = g.node('BatchNormalization', [x.name, ...names], name, {
    epsilon: { f: num(ctx, 'epsilon', 1e-3) },
  });
  return out(ctx, y, 'nchw');
};

/** LayerNormalization over the last (channel) axis; a 4D input is viewed channels-last. */
const layerNormalization: LayerConverter = (ctx) => {
  const { g } = ctx;
  const name = ctx.layer.name;
  const rank = ctx.input.shape.length;
  if (singleAxis(ctx, 'axis', rank) !== rank - 1) {
    throw unsupported(ctx, `axis ${JSON.stringify(ctx.config['axis'])}`, 'the last axis');
  }
  const w = layerWeights(ctx.layer);
  const n = at(ctx.input.shape, rank - 1) as number;
  const scale = g.floats(`${name}_scale`, [n], onesOr(w.get('gamma'), n, 1).data);
  const bias = g.floats(`${name}_B`, [n], onesOr(w.get('beta'), n, 0).data);
  const x = g.toLayout(ctx.input, 'keras');
  const attrs = { axis: -1, epsilon: { f: num(ctx, 'epsilon', 1e-3) } };
  return out(ctx, g.node('LayerNormalization', [x.name, scale, bias], name, attrs), 'keras');
};

/** Converters for weighted layers, by TF.js class name. */
export const WEIGHTED_CONVERTERS: Record<string, LayerConverter> = {
  Conv2D: conv2d,
  DepthwiseConv2D: depthwiseConv2d,
  SeparableConv2D: separableConv2d,
  Dense: dense,
  BatchNormalization: batchNormalization,
  LayerNormalization: layerNormalization,
};
