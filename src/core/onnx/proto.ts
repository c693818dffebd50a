import onnxProto from 'onnx-proto';

/** The `onnx` protobuf namespace (ModelProto, GraphProto, NodeProto, ...) from `onnx-proto`. */
export const onnx = onnxProto.onnx;

/** ONNX element type codes used by the exporter. */
export const FLOAT = 1;
export const INT64 = 7;

/** An attribute value: an int (`number`), a float (`{ f }`), a string, ints (`number[]`) or floats (`{ floats }`). */
export type AttrValue =
  | number
  | { readonly f: number }
  | string
  | readonly number[]
  | { readonly floats: readonly number[] };

const ATTR = onnxProto.onnx.AttributeProto.AttributeType;

/** Builds one ONNX attribute from an {@link AttrValue}. */
export function makeAttribute(name: string, value: AttrValue): onnxProto.onnx.IAttributeProto {
  if (typeof value === 'string') return { name, type: ATTR.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') return { name, type: ATTR.INT, i: value };
  if ('f' in value) return { name, type: ATTR.FLOAT, f: value.f };
  if ('floats' in value) return { name, type: ATTR.FLOATS, floats: [...value.floats] };
  return { name, type: ATTR.INTS, ints: [...(value as readonly number[])] };
}

/** A float32 initializer stored as raw little-endian bytes. */
export function floatTensor(
  name: string,
  dims: readonly number[],
  data: Float32Array,
): onnxProto.onnx.ITensorProto {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { name, dims: [...dims], dataType: FLOAT, rawData: bytes };
}

/** An int64 initializer (shapes, pads) stored as raw little-endian bytes. */
export function int64Tensor(name: string, values: readonly number[]): onnxProto.onnx.ITensorProto {
  const data = BigInt64Array.from(values, (v) => BigInt(v));
  return { name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(data.buffer) };
}

/** A float32 value-info with a symbolic batch dimension where `dims` holds null. */
export function valueInfo(name: string, dims: readonly (number | null)[]): onnxProto.onnx.IValueInfoProto {
  const dim = dims.map((d, i) => (d == null ? { dimParam: i === 0 ? 'N' : `d${i}` } : { dimValue: d }));
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim } } } };
}
