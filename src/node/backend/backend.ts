import * as tf from '@tensorflow/tfjs';
import { expected } from '../../core/errors.js';
import { type Logger, silentLogger } from '../../core/logger.js';
import { at } from '../../core/util/at.js';

// TF.js's own console output (the cpu backend's "Hi, looks like you are running TensorFlow.js in Node.js" banner,
// flag warnings) is off: lesionlab says which backend runs in its one backend line.
tf.env().set('PROD', true);

/** What the user asks for (`--backend`). */
export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
/**
 * What the backend is for: `train` needs gradients of convolutions (wasm has none); `head` trains dense layers
 * on cached features (no convolution gradients, so wasm's SIMD matMul serves); `infer` runs forward passes.
 */
export type BackendPurpose = 'train' | 'head' | 'infer';
/** A TF.js backend lesionlab can run on. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

/** The backend in use, its thread count and why the ones tried before it were passed over. */
export interface BackendInfo {
  readonly name: BackendName;
  /** Threads the backend computes with (wasm in Node: 1, see {@link selectBackend}). */
  readonly threads: number;
  readonly tried: readonly { readonly name: BackendName; readonly reason: string }[];
  /** The one line that was logged, e.g. `backend: wasm, 1 thread (tried tensorflow: ... not installed)`. */
  readonly line: string;
}

/** Options of {@link selectBackend}. */
export interface SelectBackendOptions {
  /** wasm threads to ask for (default: 2); Node's wasm build is single-threaded, so 1 is what you get. */
  readonly threads?: number;
  /** How native modules are loaded (tests inject a stand-in); default: dynamic `import()`. */
  readonly importModule?: (specifier: string) => Promise<unknown>;
}

/** Native TF.js packages, tried in this order. */
const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];
/** What a user without a working native backend runs to get one (see README, "Native engine"). */
export const NATIVE_FIX = 'run npm run native:build';

function firstLine(error: unknown): string {
  return at(String((error as Error)?.message ?? error).split('\n'), 0);
}

function notInstalled(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/** Why an installed native package did not load: its error's first line, or `native binding not built`. */
function nativeFailure(error: unknown): NativeMiss['reason'] | null {
  if (notInstalled(error)) return null;
  const message = firstLine(error);
  if (/tfjs_binding\.node\) can not be found/.test(message)) return { text: 'native binding not built' };
  return { text: message, loadError: true };
}

/** `tfjs-node 4.22.0, TF 2.21.0`: the package that loaded, its version and the libtensorflow it runs on. */
function nativeDetail(pkg: string, module: unknown): string {
  const versions = (module as { version?: Record<string, string> })?.version ?? {};
  const short = pkg.replace('@tensorflow/', '');
  const binding = (tf.backend() as { binding?: { TF_Version?: string } }).binding;
  return `${short} ${versions[short] ?? '?'}, TF ${binding?.TF_Version ?? '?'}`;
}

/**
 * A native package that is installed but was passed over, and why: a load error's first line (`loadError`,
 * e.g. `libcudart.so.11.0: cannot open shared object file: …`) or a few words (`native binding not built`).
 */
interface NativeMiss {
  readonly pkg: string;
  readonly reason: { readonly text: string; readonly loadError?: boolean };
}

/**
 * The native package that loaded (`detail`) or why none did (`reason`, with the fix); `missed` lists the
 * installed packages tried before it that did not load (tfjs-node-gpu without CUDA), for the backend line.
 */
type NativeResult =
  | { readonly detail: string; readonly missed: readonly NativeMiss[] }
  | { readonly reason: string };

async function tryNative(load: (s: string) => Promise<unknown>): Promise<NativeResult> {
  // Keeps most of libtensorflow's INFO lines off stderr (not the oneDNN one, printed before its logging starts).
  process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '1';
  const missed: NativeMiss[] = [];
  for (const pkg of NATIVE_PACKAGES) {
    const short = pkg.replace('@tensorflow/', '');
    try {
      const module = await load(pkg);
      if (tf.findBackend('tensorflow') && (await tf.setBackend('tensorflow'))) {
        return { detail: nativeDetail(pkg, module), missed };
      }
      missed.push({ pkg: short, reason: { text: 'loaded but registered no usable "tensorflow" backend' } });
    } catch (error) {
      const reason = nativeFailure(error);
      if (reason !== null) missed.push({ pkg: short, reason });
    }
  }
  const reasons = missed.map(
    (m) => `${m.pkg} ${m.reason.loadError ? 'failed to load: ' : ''}${m.reason.text}`,
  );
  return { reason: `${reasons.length ? reasons.join('; ') : 'tfjs-node not installed'}; ${NATIVE_FIX}` };
}

async function tryWasm(threads: number): Promise<{ reason: string | null; threads: number }> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setThreadsCount(threads);
    if (!(await tf.setBackend('wasm'))) return { reason: 'wasm backend failed to initialise', threads: 0 };
    return { reason: null, threads: wasm.getThreadsCount() };
  } catch (error) {
    return { reason: `wasm failed: ${firstLine(error)}`, threads: 0 };
  }
}

/** Order of backends to try for a choice and purpose. */
export function backendOrder(choice: BackendChoice, purpose: BackendPurpose): BackendName[] {
  if (choice !== 'auto') return [choice];
  return purpose === 'train' ? ['tensorflow', 'cpu'] : ['tensorflow', 'wasm', 'cpu'];
}

function describe(name: BackendName, threads: number, tried: BackendInfo['tried'], detail: string): string {
  const threadText = name === 'wasm' ? `, ${threads} thread${threads === 1 ? '' : 's'}` : '';
  const triedText = tried.length ? `tried ${tried.map((t) => `${t.name}: ${t.reason}`).join('; ')}` : '';
  const notes = [detail, triedText].filter(Boolean).join('; ');
  return `backend: ${name}${threadText}${notes ? ` (${notes})` : ''}`;
}

interface Attempt {
  readonly reason: string | null;
  readonly threads: number;
  /**
   * Native only: package, version and TF version for the log line, then the native packages passed over
   * (`tfjs-node 4.22.0, TF 2.21.0; tried tfjs-node-gpu: libcudart.so.11.0: …`).
   */
  readonly detail: string;
}

async function tryBackend(name: BackendName, options: SelectBackendOptions): Promise<Attempt> {
  if (name === 'tensorflow') {
    const native = await tryNative(options.importModule ?? ((s) => import(s)));
    if (!('detail' in native)) return { reason: native.reason, threads: 1, detail: '' };
    const missed = native.missed.map((m) => `tried ${m.pkg}: ${m.reason.text}`);
    return { reason: null, threads: 1, detail: [native.detail, ...missed].join('; ') };
  }
  if (name === 'wasm') return { ...(await tryWasm(options.threads ?? 2)), detail: '' };
  const ok = await tf.setBackend('cpu');
  return { reason: ok ? null : 'cpu backend failed to initialise', threads: 1, detail: '' };
}

/**
 * Picks and activates the TF.js backend: native `tfjs-node(-gpu)` through dynamic `import()` when it is
 * installed and loads; else `wasm` for forward passes (`infer`) and dense heads on cached features (`head`),
 * and `cpu` for training through convolutions (`train`: wasm has no convolution-gradient kernels). Logs one
 * line: the native winner with its versions (`backend: tensorflow (tfjs-node 4.22.0, TF 2.21.0)`, adding any native
 * package that failed before it: `; tried tfjs-node-gpu: libcudart.so.11.0: cannot open …`), or the
 * fallback, why native was passed over and the fix (`backend: cpu (tried tensorflow: tfjs-node not installed;
 * run npm run native:build)`). An explicit choice that cannot load throws E_BACKEND. Unless set, it sets
 * `TF_CPP_MIN_LOG_LEVEL=1` (fewer libtensorflow INFO lines on stderr; warnings still show). Note: in Node the wasm backend runs single-threaded
 * (its threaded build needs browser-style blob workers), so `threads` is 1 there.
 */
export async function selectBackend(
  choice: BackendChoice,
  purpose: BackendPurpose,
  logger: Logger = silentLogger,
  options: SelectBackendOptions = {},
): Promise<BackendInfo> {
  const tried: { name: BackendName; reason: string }[] = [];
  for (const name of backendOrder(choice, purpose)) {
    const { reason, threads, detail } = await tryBackend(name, options);
    if (reason === null) {
      const line = describe(name, threads, tried, detail);
      logger.info(line);
      if (name === 'wasm' && purpose === 'train') {
        logger.warn(
          'backend wasm cannot train convolutions (no conv gradient kernels); use --backend cpu to fine-tune',
        );
      }
      return { name, threads, tried, line };
    }
    tried.push({ name, reason });
  }
  const why = tried.map((t) => `${t.name}: ${t.reason}`).join('; ');
  throw expected({
    what: 'a backend that loads',
    where: `--backend ${choice}`,
    received: `none available (${why})`,
    fix: 'use --backend auto',
    code: 'E_BACKEND',
  });
}
