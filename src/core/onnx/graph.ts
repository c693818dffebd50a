import type onnxProto from 'onnx-proto';
import { expected } from '../errors.js';
import { at } from '../util/at.js';
import { type AttrValue, floatTensor, int64Tensor, makeAttribute } from './proto.js';

/**
 * How a value's elements are laid out in the ONNX graph. `keras` is the TF.js order (NHWC for rank 4);
 * `nchw` is a rank-4 tensor transposed to channels-first, the order ONNX convolutions and pools use.
 */
export type Layout = 'keras' | 'nchw';

/** One tensor in the ONNX graph: its name, its Keras shape (NHWC order, null batch) and its layout. */
export interface Value {
  readonly name: string;
  readonly shape: readonly (number | null)[];
  readonly layout: Layout;
}

const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];

/** Collects nodes and initializers with unique names; converts values between layouts (cached). */
export class GraphBuilder {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  /** Outputs of ZeroPadding2D: their unpadded source and pads [top, left, bottom, right]. */
  readonly zeroPadded = new Map<
    string,
    { readonly source: Value; readonly pads: readonly [number, number, number, number] }
  >();
  private readonly used = new Set<string>();
  private readonly transposed = new Map<string, Value>();

  /** A fresh name based on `hint` (sanitised; `_1`, `_2`, ... appended on collision). */
  unique(hint: string): string {
    const base = hint.replace(/[^A-Za-z0-9_./:-]/g, '_') || 'v';
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Reserves an exact name (graph input or output); throws if it is already taken. */
  reserve(name: string): string {
    if (this.used.has(name)) {
      throw expected({
        what: 'distinct input and output names',
        where: 'the ONNX graph',
        received: `the name "${name}" twice`,
        fix: 'pick distinct names',
        code: 'E_ONNX',
      });
    }
    this.used.add(name);
    return name;
  }

  /** Adds one node with a single output named after `hint`; returns the output name. */
  node(op: string, inputs: readonly string[], hint: string, attrs: Record<string, AttrValue> = {}): string {
    const output = this.unique(hint);
    this.nodeTo(op, inputs, output, attrs);
    return output;
  }

  /** Adds one node writing to an exact output name. */
  nodeTo(op: string, inputs: readonly string[], output: string, attrs: Record<string, AttrValue> = {}): void {
    const attribute = Object.entries(attrs).map(([k, v]) => makeAttribute(k, v));
    this.nodes.push({ opType: op, input: [...inputs], output: [output], name: output, attribute });
  }

  /** Adds a float32 initializer; returns its name. */
  floats(hint: string, dims: readonly number[], data: Float32Array): string {
    const name = this.unique(hint);
    this.initializers.push(floatTensor(name, dims, data));
    return name;
  }

  /** Adds a float32 scalar initializer. */
  scalar(hint: string, value: number): string {
    return this.floats(hint, [], Float32Array.of(value));
  }

  /** Adds an int64 vector initializer (shapes, pads, axes). */
  ints(hint: string, values: readonly number[]): string {
    const name = this.unique(hint);
    this.initializers.push(int64Tensor(name, values));
    return name;
  }

  /** Drops nodes (and then initializers) that no graph output depends on; returns the removed count. */
  prune(outputs: readonly string[]): number {
    const needed = new Set(outputs);
    const kept: onnxProto.onnx.INodeProto[] = [];
    for (const node of [...this.nodes].reverse()) {
      if (!node.output!.some((o) => needed.has(o))) continue;
      kept.push(node);
      for (const i of node.input ?? []) needed.add(i);
    }
    const removed = this.nodes.length - kept.length;
    this.nodes.splice(0, this.nodes.length, ...kept.reverse());
    const inits = this.initializers.filter((t) => needed.has(t.name!));
    this.initializers.splice(0, this.initializers.length, ...inits);
    return removed;
  }

  /** `value` in the requested layout, adding (once per value) a Transpose when it differs. */
  toLayout(value: Value, layout: Layout): Value {
    if (value.layout === layout || value.shape.length !== 4) return value;
    const key = `${value.name}->${layout}`;
    const cached = this.transposed.get(key);
    if (cached) return cached;
    const perm = layout === 'nchw' ? TO_NCHW : TO_NHWC;
    const name = this.node('Transpose', [value.name], `${value.name}_${layout}`, { perm });
    const result: Value = { name, shape: value.shape, layout };
    this.transposed.set(key, result);
    return result;
  }
}

/** The physical axis of Keras axis `axis` (negative counts from the end) for a value's layout. */
export function physicalAxis(value: Value, axis: number): number {
  const rank = value.shape.length;
  const a = axis < 0 ? axis + rank : axis;
  return value.layout === 'nchw' ? TO_NCHW.indexOf(a) : a;
}

/** The physical dims of a value (batch as null). */
export function physicalShape(value: Value): (number | null)[] {
  const s = [...value.shape];
  return value.layout === 'nchw' ? TO_NCHW.map((i) => at(s, i)) : s;
}
