import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { at } from '../../src/core/util/at.js';
import { backendOrder, selectBackend } from '../../src/node/backend/backend.js';
import { recordingLogger } from '../support/recording-logger.js';

const missing = async (s: string): Promise<never> => {
  throw Object.assign(new Error(`Cannot find package '${s}'`), { code: 'ERR_MODULE_NOT_FOUND' });
};

describe('selectBackend', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('orders native first, then wasm to infer and cpu to train', () => {
    expect(backendOrder('auto', 'infer')).toEqual(['tensorflow', 'wasm', 'cpu']);
    expect(backendOrder('auto', 'train')).toEqual(['tensorflow', 'cpu']);
    expect(backendOrder('auto', 'head')).toEqual(['tensorflow', 'wasm', 'cpu']);
    expect(backendOrder('wasm', 'train')).toEqual(['wasm']);
  });

  it('falls back to single-threaded wasm for inference and says what it tried in one line', async () => {
    const log = recordingLogger();
    const info = await selectBackend('auto', 'infer', log, { importModule: missing });
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.threads).toBe(1);
    expect(log.infos).toEqual([
      'backend: wasm, 1 thread (tried tensorflow: tfjs-node not installed; run npm run native:build)',
    ]);
    const y = tf.tidy(() =>
      tf
        .conv2d(tf.ones([1, 4, 4, 2]) as tf.Tensor4D, tf.ones([3, 3, 2, 1]) as tf.Tensor4D, 1, 'same')
        .dataSync(),
    );
    expect(y[5]).toBe(18);
  });

  it('uses cpu for training when no native backend loads', async () => {
    const log = recordingLogger();
    const info = await selectBackend('auto', 'train', log, { importModule: missing });
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(log.infos).toEqual([
      'backend: cpu (tried tensorflow: tfjs-node not installed; run npm run native:build)',
    ]);
  });

  it('reports a native package that is installed but broken', async () => {
    const broken = async (): Promise<never> => {
      throw new Error('libtensorflow.so.2: cannot open shared object file\nmore');
    };
    const info = await selectBackend('auto', 'train', recordingLogger(), { importModule: broken });
    expect(at(info.tried, 0).reason).toContain('tfjs-node failed to load: libtensorflow.so.2: cannot open');
    expect(at(info.tried, 0).reason).toMatch(/; run npm run native:build$/);
  });

  it('says the native binding is not built when the package is there without it', async () => {
    const unbuilt = async (s: string): Promise<never> => {
      if (s.endsWith('-gpu')) return missing(s);
      throw new Error(
        'The Node.js native addon module (tfjs_binding.node) can not be found at path: /x\nmore',
      );
    };
    const log = recordingLogger();
    await selectBackend('auto', 'train', log, { importModule: unbuilt });
    expect(log.infos).toEqual([
      'backend: cpu (tried tensorflow: tfjs-node native binding not built; run npm run native:build)',
    ]);
  });

  it('names the native package, its version and the TF version when it loads', async () => {
    const log = recordingLogger();
    const fake = async (s: string): Promise<unknown> => {
      if (s.endsWith('-gpu')) return missing(s);
      return { version: { 'tfjs-node': '4.22.0' } };
    };
    // A stand-in "tensorflow" backend: the cpu kernels under that name, with a binding that reports TF_Version.
    const cpu = tf.findBackend('cpu')!;
    tf.registerBackend('tensorflow', () =>
      Object.assign(Object.create(cpu), { binding: { TF_Version: '9.9.9' } }),
    );
    try {
      const info = await selectBackend('auto', 'train', log, { importModule: fake });
      expect(info.name).toBe('tensorflow');
      expect(log.infos).toEqual(['backend: tensorflow (tfjs-node 4.22.0, TF 9.9.9)']);
    } finally {
      await tf.setBackend('cpu');
      tf.removeBackend('tensorflow');
    }
  });

  it('throws E_BACKEND with the fix when an explicit native choice cannot load', async () => {
    await expect(
      selectBackend('tensorflow', 'infer', recordingLogger(), { importModule: missing }),
    ).rejects.toMatchObject({
      code: 'E_BACKEND',
      message: expect.stringMatching(
        /^expected a backend that loads for --backend tensorflow but received none available \(tensorflow: tfjs-node not installed; run npm run native:build\); use --backend auto$/,
      ),
    });
  });

  it('warns when wasm is chosen for training', async () => {
    const log = recordingLogger();
    const info = await selectBackend('wasm', 'train', log);
    expect(info.name).toBe('wasm');
    expect(log.warnings[0]).toMatch(/wasm cannot train convolutions/);
  });
});

describe('selectBackend with the real module loader', () => {
  it('loads native TF.js where npm run native:build ran, else trains on cpu and says how to get it', async () => {
    const log = recordingLogger();
    const info = await selectBackend('auto', 'train', log);
    await tf.setBackend('cpu');
    if (info.name === 'tensorflow') {
      expect(log.infos[0]).toMatch(/^backend: tensorflow \(tfjs-node 4\.22\.0, TF \d+\.\d+\.\d+\)$/);
      return;
    }
    expect(info.name).toBe('cpu');
    expect(log.infos[0]).toMatch(/^backend: cpu \(tried tensorflow: .*; run npm run native:build\)$/);
  });
});
