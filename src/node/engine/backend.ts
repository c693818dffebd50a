import * as tf from '@tensorflow/tfjs';
import { LesionlabError } from '../../core/errors.js';
import { type Logger, silentLogger } from '../../core/logger.js';

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

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0]!;
}

function notInstalled(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

async function tryNative(load: (s: string) => Promise<unknown>): Promise<string | null> {
  const reasons: string[] = [];
  for (const pkg of NATIVE_PACKAGES) {
    try {
      await load(pkg);
      if (tf.findBackend('tensorflow') && (await tf.setBackend('tensorflow'))) return null;
      reasons.push(`${pkg} loaded but registered no usable "tensorflow" backend`);
    } catch (error) {
      reasons.push(
        notInstalled(error) ? `${pkg} not installed` : `${pkg} failed to load: ${firstLine(error)}`,
      );
    }
  }
  return reasons.join('; ');
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

function describe(name: BackendName, threads: number, tried: BackendInfo['tried']): string {
  const threadText = name === 'wasm' ? `, ${threads} thread${threads === 1 ? '' : 's'}` : '';
  const triedText = tried.length ? ` (tried ${tried.map((t) => `${t.name}: ${t.reason}`).join('; ')})` : '';
  return `backend: ${name}${threadText}${triedText}`;
}

/**
 * Picks and activates the TF.js backend: native `tfjs-node(-gpu)` through dynamic `import()` when it is
 * installed and loads; else `wasm` for forward passes (`infer`) and dense heads on cached features (`head`),
 * and `cpu` for training through convolutions (`train`: wasm has no convolution-gradient kernels). Logs the winner and what was passed over in one line. An explicit
 * choice that cannot load throws E_BACKEND. Note: in Node the wasm backend runs single-threaded
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
    let reason: string | null = null;
    let threads = 1;
    if (name === 'tensorflow') reason = await tryNative(options.importModule ?? ((s) => import(s)));
    else if (name === 'wasm') ({ reason, threads } = await tryWasm(options.threads ?? 2));
    else if (!(await tf.setBackend('cpu'))) reason = 'cpu backend failed to initialise';
    if (reason === null) {
      const line = describe(name, threads, tried);
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
  throw new LesionlabError('E_BACKEND', `--backend ${choice}: not available (${why}); use --backend auto`);
}
