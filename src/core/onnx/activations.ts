import { expected } from '../errors.js';
import { type GraphBuilder, physicalAxis, type Value } from './graph.js';

type Emit = (g: GraphBuilder, x: Value, hint: string) => string;

const unary =
  (op: string, attrs: Record<string, number | { f: number }> = {}): Emit =>
  (g, x, hint) =>
    g.node(op, [x.name], hint, attrs);

const clip =
  (min: number, max: number): Emit =>
  (g, x, hint) =>
    g.node('Clip', [x.name, g.scalar(`${hint}_min`, min), g.scalar(`${hint}_max`, max)], hint);

/** x * f(x) for swish (f = sigmoid) and mish (f = tanh(softplus)). */
const gated =
  (inner: (g: GraphBuilder, x: string, hint: string) => string): Emit =>
  (g, x, hint) =>
    g.node('Mul', [x.name, inner(g, x.name, hint)], hint);

/** Exact GELU as tfjs-layers and Keras ConvNeXt compute it: 0.5 * x * (1 + erf(x / sqrt(2))). */
const gelu: Emit = (g, x, hint) => {
  const scaled = g.node('Div', [x.name, g.scalar(`${hint}_sqrt2`, Math.SQRT2)], `${hint}_div`);
  const erf = g.node('Erf', [scaled], `${hint}_erf`);
  const onePlus = g.node('Add', [erf, g.scalar(`${hint}_one`, 1)], `${hint}_add`);
  const half = g.node('Mul', [x.name, g.scalar(`${hint}_half`, 0.5)], `${hint}_half`);
  return g.node('Mul', [half, onePlus], hint);
};

/** Tanh-approximated GELU (tfjs `gelu_new`): 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))). */
const geluTanh: Emit = (g, x, hint) => {
  const cube = g.node('Mul', [x.name, g.node('Mul', [x.name, x.name], `${hint}_sq`)], `${hint}_cube`);
  const inner = g.node(
    'Add',
    [x.name, g.node('Mul', [cube, g.scalar(`${hint}_c`, 0.044715)], `${hint}_cc`)],
    `${hint}_in`,
  );
  const scaled = g.node('Mul', [inner, g.scalar(`${hint}_k`, Math.sqrt(2 / Math.PI))], `${hint}_k`);
  const onePlus = g.node(
    'Add',
    [g.node('Tanh', [scaled], `${hint}_tanh`), g.scalar(`${hint}_one`, 1)],
    `${hint}_1p`,
  );
  return g.node(
    'Mul',
    [g.node('Mul', [x.name, g.scalar(`${hint}_half`, 0.5)], `${hint}_half`), onePlus],
    hint,
  );
};

const softmaxOn =
  (op: string): Emit =>
  (g, x, hint) =>
    g.node(op, [x.name], hint, { axis: physicalAxis(x, -1) });

/** ONNX emitters for every TF.js activation name the exporter supports. */
const ACTIVATIONS: Record<string, Emit> = {
  relu: unary('Relu'),
  relu6: clip(0, 6),
  sigmoid: unary('Sigmoid'),
  hardSigmoid: unary('HardSigmoid', { alpha: { f: 0.2 }, beta: { f: 0.5 } }),
  tanh: unary('Tanh'),
  softmax: softmaxOn('Softmax'),
  logSoftmax: softmaxOn('LogSoftmax'),
  elu: unary('Elu', { alpha: { f: 1 } }),
  selu: unary('Selu'),
  softplus: unary('Softplus'),
  softsign: unary('Softsign'),
  swish: gated((g, x, hint) => g.node('Sigmoid', [x], `${hint}_sigmoid`)),
  mish: gated((g, x, hint) => g.node('Tanh', [g.node('Softplus', [x], `${hint}_softplus`)], `${hint}_tanh`)),
  gelu,
  gelu_new: geluTanh,
};

/** Names of the supported activations (`linear` included). */
export const SUPPORTED_ACTIVATIONS = ['linear', ...Object.keys(ACTIVATIONS)];

/** Applies the TF.js activation `name` (serialised form, e.g. `relu6`) to `x`; `linear` adds nothing. */
export function applyActivation(
  g: GraphBuilder,
  x: Value,
  name: unknown,
  hint: string,
  layer: string,
): Value {
  if (name == null || name === 'linear') return x;
  const emit = typeof name === 'string' ? ACTIVATIONS[name] : undefined;
  if (!emit) {
    throw expected({
      what: `an activation the exporter supports (${SUPPORTED_ACTIVATIONS.join(', ')})`,
      where: `the layer "${layer}"`,
      received: `"${String(name)}"`,
      fix: 'use a supported activation or export another model',
      code: 'E_ONNX',
    });
  }
  return { ...x, name: emit(g, x, hint) };
}
