import { access, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { expected, expectedOneOf } from '../../core/errors.js';
import { type Logger, silentLogger } from '../../core/logger.js';

/** Execution providers lesionlab asks ONNX Runtime for, in preference order. */
export type OnnxProvider = 'cuda' | 'cpu';

/**
 * Default intra-op thread count: every CPU the process may use. Measured with `npm run bench:backbones` on
 * the quiet 2-vCPU dev machine (MobileNet v1 224, batch 16, sessions timed in alternation): 1 thread
 * 41.3 img/s, 2 threads 70.1 img/s. (Under heavy load from other jobs 1 thread had looked better; on a
 * quiet machine 2 win clearly.) Callers that decode images in parallel may pass fewer.
 */
export const DEFAULT_ONNX_THREADS = Math.max(1, availableParallelism());

/** Options of {@link createOnnxSession}. */
export interface OnnxSessionOptions {
  /** Intra-op threads (default {@link DEFAULT_ONNX_THREADS}). */
  readonly threads?: number;
  /** Providers to try in order (default `['cuda', 'cpu']`); cpu is always the last resort. */
  readonly providers?: readonly OnnxProvider[];
  readonly logger?: Logger;
}

/** One named output: its values and dims. */
export interface OnnxOutput {
  readonly data: Float32Array;
  readonly dims: number[];
}

/** A loaded ONNX model ready to run float32 inputs. */
export interface OnnxSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** The inputs' declared types and shapes (a dynamic dimension is its name), in {@link inputNames}' order. */
  readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  /** The outputs' declared types and shapes, in {@link outputNames}' order. */
  readonly outputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  /** The provider the session actually runs on. */
  readonly provider: OnnxProvider;
  readonly threads: number;
  /** Runs the first input with `data` of shape `dims`; returns the requested (default: all) outputs. */
  run(
    data: Float32Array,
    dims: readonly number[],
    outputs?: readonly string[],
  ): Promise<Record<string, OnnxOutput>>;
  /** Runs like {@link run} for the one output `name`; E_ONNX when the model has no output of that name. */
  runOutput(data: Float32Array, dims: readonly number[], name: string): Promise<OnnxOutput>;
  dispose(): Promise<void>;
}

async function modelBytes(model: Uint8Array | string): Promise<Uint8Array> {
  if (typeof model !== 'string') return model;
  try {
    return new Uint8Array(await readFile(model));
  } catch (error) {
    throw expected({
      what: 'a readable ONNX model file',
      where: model,
      received: `a path that cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      fix: 'check the path',
      code: 'E_MISSING_FILE',
      cause: error,
    });
  }
}

/** Why CUDA cannot be used, or null when onnxruntime-node lists it and its provider library is present. */
async function cudaUnavailable(): Promise<string | null> {
  const cuda = ort.listSupportedBackends().find((b) => b.name === 'cuda');
  if (!cuda) return 'onnxruntime-node offers no CUDA provider on this platform';
  if (cuda.bundled) return null;
  const dist = dirname(createRequire(import.meta.url).resolve('onnxruntime-node'));
  const lib = join(
    dist,
    '..',
    'bin',
    'napi-v6',
    process.platform,
    process.arch,
    'libonnxruntime_providers_cuda.so',
  );
  try {
    await access(lib);
    return null;
  } catch {
    return 'CUDA provider library not installed (libonnxruntime_providers_cuda.so)';
  }
}

async function openSession(
  bytes: Uint8Array,
  providers: readonly OnnxProvider[],
  threads: number,
  logger: Logger,
  where: string,
): Promise<{ session: ort.InferenceSession; provider: OnnxProvider }> {
  const base = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' as const };
  if (providers[0] === 'cuda') {
    try {
      const why = await cudaUnavailable();
      if (why) throw new Error(why);
      const session = await ort.InferenceSession.create(bytes, {
        ...base,
        executionProviders: ['cuda', 'cpu'],
      });
      return { session, provider: 'cuda' };
    } catch (error) {
      logger.info(`onnx provider: cpu (tried cuda: ${(error as Error).message.split('\n')[0]})`);
    }
  }
  try {
    const session = await ort.InferenceSession.create(bytes, { ...base, executionProviders: ['cpu'] });
    return { session, provider: 'cpu' };
  } catch (error) {
    throw expected({
      what: 'a model ONNX Runtime can load',
      where,
      received: `one it cannot load (${(error as Error).message})`,
      fix: 'export the model again',
      code: 'E_ONNX',
      cause: error,
    });
  }
}

/**
 * Loads an ONNX model (bytes or a file path) into ONNX Runtime. CUDA is used when onnxruntime-node
 * offers it, else cpu with one log line saying why.
 */
export async function createOnnxSession(
  model: Uint8Array | string,
  options: OnnxSessionOptions = {},
): Promise<OnnxSession> {
  const logger = options.logger ?? silentLogger;
  const threads = options.threads ?? DEFAULT_ONNX_THREADS;
  const providers = options.providers ?? ['cuda', 'cpu'];
  const where = typeof model === 'string' ? model : 'the ONNX model';
  const { session, provider } = await openSession(await modelBytes(model), providers, threads, logger, where);
  const [inputName] = session.inputNames;
  if (inputName === undefined) {
    await session.release();
    throw expected({
      what: 'an image input',
      where,
      received: 'a model without inputs',
      fix: 'export the model again',
      code: 'E_ONNX',
    });
  }
  const run: OnnxSession['run'] = async (data, dims, outputs) => {
    const count = dims.reduce((a, b) => a * b, 1);
    if (data.length !== count) {
      throw expected({
        what: `${count} values for dims [${dims.join(', ')}]`,
        where: `ONNX input "${inputName}"`,
        received: `${data.length} values`,
        fix: 'pass matching data and dims',
        code: 'E_INPUT',
      });
    }
    const feeds = { [inputName]: new ort.Tensor('float32', data, [...dims]) };
    const result = outputs ? await session.run(feeds, [...outputs]) : await session.run(feeds);
    const out: Record<string, OnnxOutput> = {};
    for (const [name, t] of Object.entries(result)) {
      out[name] = { data: t.data as Float32Array, dims: t.dims.map(Number) };
    }
    return out;
  };
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    inputMetadata: session.inputMetadata,
    outputMetadata: session.outputMetadata,
    provider,
    threads,
    run,
    async runOutput(data, dims, name) {
      const output = session.outputNames.includes(name) ? (await run(data, dims, [name]))[name] : undefined;
      if (!output) {
        throw expectedOneOf(session.outputNames, {
          where: 'the ONNX output name',
          received: name,
          fix: 'ask for an output the model has',
          code: 'E_ONNX',
        });
      }
      return output;
    },
    dispose: () => session.release(),
  };
}
