import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/core/logger.js';
import { backendOrder, selectBackend } from '../../../src/node/engine/backend.js';

function recorder(): Logger & { lines: string[]; warnings: string[] } {
  const lines: string[] = [];
  const warnings: string[] = [];
  return { lines, warnings, info: (m) => lines.push(m), warn: (m) => warnings.push(m) };
}

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
    const log = recorder();
    const info = await selectBackend('auto', 'infer', log, { importModule: missing });
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.threads).toBe(1);
    expect(log.lines).toEqual([
      'backend: wasm, 1 thread (tried tensorflow: @tensorflow/tfjs-node-gpu not installed; @tensorflow/tfjs-node not installed)',
    ]);
    const y = tf.tidy(() =>
      tf
        .conv2d(tf.ones([1, 4, 4, 2]) as tf.Tensor4D, tf.ones([3, 3, 2, 1]) as tf.Tensor4D, 1, 'same')
        .dataSync(),
    );
    expect(y[5]).toBe(18);
  });

  it('uses cpu for training when no native backend loads', async () => {
    const log = recorder();
    const info = await selectBackend('auto', 'train', log, { importModule: missing });
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(log.lines[0]).toMatch(/^backend: cpu \(tried tensorflow: .*not installed\)$/);
  });

  it('reports a native package that is installed but broken', async () => {
    const broken = async (): Promise<never> => {
      throw new Error('libtensorflow.so.2: cannot open shared object file\nmore');
    };
    const info = await selectBackend('auto', 'train', recorder(), { importModule: broken });
    expect(info.tried[0]!.reason).toContain(
      '@tensorflow/tfjs-node failed to load: libtensorflow.so.2: cannot open',
    );
  });

  it('throws E_BACKEND with the fix when an explicit native choice cannot load', async () => {
    await expect(
      selectBackend('tensorflow', 'infer', recorder(), { importModule: missing }),
    ).rejects.toMatchObject({
      code: 'E_BACKEND',
      message: expect.stringMatching(
        /^--backend tensorflow: not available \(tensorflow: .*not installed\); use --backend auto$/,
      ),
    });
  });

  it('warns when wasm is chosen for training', async () => {
    const log = recorder();
    const info = await selectBackend('wasm', 'train', log);
    expect(info.name).toBe('wasm');
    expect(log.warnings[0]).toMatch(/wasm cannot train convolutions/);
  });
});

describe('selectBackend with the real module loader', () => {
  it('finds no native TF.js here (tfjs-node cannot install offline) and trains on cpu', async () => {
    const info = await selectBackend('auto', 'train');
    if (info.name === 'tensorflow') return; // a machine with tfjs-node: nothing to check here
    expect(info.name).toBe('cpu');
    expect(info.tried.map((t) => t.name)).toEqual(['tensorflow']);
    await tf.setBackend('cpu');
  });
});
