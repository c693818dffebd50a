import type * as tf from '@tensorflow/tfjs';
import type onnxProto from 'onnx-proto';
import { expected } from '../errors.js';
import { at } from '../util/at.js';
import { addCamOutput } from './cam.js';
import type { LayerConverter } from './context.js';
import { BASIC_CONVERTERS } from './convert-basic.js';
import { WEIGHTED_CONVERTERS } from './convert-conv.js';
import { GraphBuilder, type Value } from './graph.js';
import { onnx, valueInfo } from './proto.js';
import { isModel, type LayerCall, walkModel } from './walk.js';

/** Options of {@link exportOnnx}. */
export interface OnnxExportOptions {
  /** Name of the graph input (NHWC float32 [N, H, W, C], N dynamic). Default `input`. */
  readonly inputName?: string;
  /** Names of the model's outputs, in order. Default: the names of the layers that produce them. */
  readonly outputNames?: readonly string[];
  /** Also output this layer's output (NHWC), e.g. the backbone's last feature map. */
  readonly featureLayer?: string;
  /** Name of the feature output. Default `features`. */
  readonly featureOutputName?: string;
  /**
   * Also output a class-activation map `[N, h, w, classes]` = feature map · Dense kernel for a
   * `GlobalAveragePooling2D -> (Dropout) -> Dense` head. With `includeBias` (default true) each cell
   * also gets the Dense bias, so the spatial mean of the map equals the head's pre-softmax logits
   * (adding bias / (h * w) instead would make neither the mean nor the sum equal the logits).
   */
  readonly cam?: boolean | { readonly name?: string; readonly includeBias?: boolean };
  /** ONNX opset (default 17; LayerNormalization needs >= 17). */
  readonly opset?: number;
  /** Key/value strings stored as the model's metadata_props (e.g. class names as JSON). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** The exported model: its bytes and the names of its graph input and outputs. */
export interface OnnxExport {
  readonly bytes: Uint8Array;
  readonly input: string;
  readonly outputs: readonly string[];
  readonly nodeCount: number;
}

const CONVERTERS: Record<string, LayerConverter> = { ...WEIGHTED_CONVERTERS, ...BASIC_CONVERTERS };

/** Class names of every layer type {@link exportOnnx} converts (plus nested models and InputLayer). */
export const SUPPORTED_LAYERS: readonly string[] = Object.keys(CONVERTERS).sort();

/** State shared by one export: the graph and every converted tensor / layer output. */
interface ExportState {
  readonly g: GraphBuilder;
  readonly byTensor: Map<number, Value>;
  readonly byLayer: Map<string, Value>;
}

function convertCall(state: ExportState, call: LayerCall, inputs: Value[]): Value[] {
  const { layer } = call;
  let outputs: Value[];
  if (isModel(layer)) {
    outputs = walkModel(layer, inputs, (c, ins) => convertCall(state, c, ins));
  } else {
    const convert = CONVERTERS[layer.getClassName()];
    if (!convert || call.outputs.length !== 1) {
      throw expected({
        what: `a layer type the exporter supports (${SUPPORTED_LAYERS.join(', ')})`,
        where: `the layer "${layer.name}"`,
        received: `the type ${layer.getClassName()}${call.outputs.length !== 1 ? ` with ${call.outputs.length} outputs` : ''}`,
        fix: 'replace the layer or export another model',
        code: 'E_ONNX',
      });
    }
    const config = layer.getConfig();
    const ctx = {
      g: state.g,
      layer,
      config,
      inputs,
      input: at(inputs, 0),
      outputShape: at(call.outputs, 0).shape,
    };
    const output = convert(ctx);
    outputs = [output];
    state.byLayer.set(layer.name, output);
  }
  for (const [i, t] of call.outputs.entries()) state.byTensor.set(t.id, at(outputs, i));
  return outputs;
}

/** Reserves every requested output name up front so no internal value can take it. */
function outputNamesOf(model: tf.LayersModel, options: OnnxExportOptions): string[] {
  const names = options.outputNames ?? model.outputs.map((t) => t.sourceLayer.name);
  if (names.length !== model.outputs.length) {
    throw expected({
      what: `one name per output (${model.outputs.length})`,
      where: 'outputNames',
      received: `${names.length} names`,
      fix: 'give one name per output',
      code: 'E_ONNX',
    });
  }
  return [...names];
}

function checkInput(model: tf.LayersModel): tf.SymbolicTensor {
  const [input] = model.inputs;
  if (input === undefined || model.inputs.length !== 1 || input.shape.length !== 4) {
    const shapes = model.inputs.map((t) => JSON.stringify(t.shape)).join(', ');
    throw expected({
      what: 'one NHWC image input [N, H, W, C]',
      where: 'the model to export',
      received: `the inputs ${shapes || 'none'}`,
      fix: 'export a model with a single 4D image input',
      code: 'E_ONNX',
    });
  }
  return input;
}

/** Adds an Identity from `value` (in channels-last order) to the exact graph output `name`. */
function emitOutput(g: GraphBuilder, value: Value, name: string): onnxProto.onnx.IValueInfoProto {
  const v = g.toLayout(value, 'keras');
  g.nodeTo('Identity', [v.name], name);
  return valueInfo(name, v.shape);
}

function featureValue(state: ExportState, layerName: string): Value {
  const v = state.byLayer.get(layerName);
  if (v) return v;
  const known = [...state.byLayer.keys()].slice(-5).join(', ');
  throw expected({
    what: `a layer on the path to the model's outputs (last layers: ${known})`,
    where: 'featureLayer',
    received: `"${layerName}"`,
    fix: "pass one of model.layers' names",
    code: 'E_ONNX',
  });
}

/**
 * Exports a TF.js layers model to ONNX bytes (pure; reads the weights, changes nothing). The graph
 * input is NHWC float32 with a dynamic batch; 4D values are transposed to NCHW once and convolutions,
 * pools and batch norms run NCHW; 4D outputs are transposed back to NHWC. 'same' convolution padding
 * becomes explicit pads from static shapes; pools use `auto_pad` (so ONNX Runtime cannot fuse a
 * ZeroPadding2D into them). An unsupported layer throws E_ONNX naming it and the supported types.
 */
export function exportOnnx(model: tf.LayersModel, options: OnnxExportOptions = {}): OnnxExport {
  const input = checkInput(model);
  const g = new GraphBuilder();
  const inputName = g.reserve(options.inputName ?? 'input');
  const outNames = outputNamesOf(model, options).map((n) => g.reserve(n));
  const featureName = options.featureLayer ? g.reserve(options.featureOutputName ?? 'features') : undefined;
  const camOpts = options.cam === true ? {} : options.cam || undefined;
  const camName = camOpts ? g.reserve(camOpts.name ?? 'cam') : undefined;
  const state: ExportState = { g, byTensor: new Map(), byLayer: new Map() };
  const x: Value = { name: inputName, shape: input.shape, layout: 'keras' };
  const results = walkModel(model, [x], (c, ins) => convertCall(state, c, ins));
  const outputs = results.map((v, i) => emitOutput(g, v, at(outNames, i)));
  if (featureName) outputs.push(emitOutput(g, featureValue(state, options.featureLayer!), featureName));
  if (camName) {
    const cam = addCamOutput(g, model, state.byTensor, camOpts?.includeBias ?? true);
    outputs.push(emitOutput(g, cam, camName));
  }
  g.prune(outputs.map((o) => o.name!));
  const graph: onnxProto.onnx.IGraphProto = {
    name: model.name,
    node: g.nodes,
    initializer: g.initializers,
    input: [valueInfo(inputName, input.shape)],
    output: outputs,
  };
  const metadataProps = Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value }));
  const proto: onnxProto.onnx.IModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: options.opset ?? 17 }],
    producerName: 'lesionlab',
    graph,
    metadataProps,
  };
  const bytes = onnx.ModelProto.encode(proto).finish();
  return { bytes, input: inputName, outputs: outputs.map((o) => o.name!), nodeCount: g.nodes.length };
}
