import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../src/node/backend/backend.js';
import { recordingLogger } from '../../support/recording-logger.js';

const NO_CUDA = 'libcudart.so.11.0: cannot open shared object file: No such file or directory';

/** tfjs-node-gpu installed without its CUDA libraries; tfjs-node as `tfjsNode` says. */
function loader(tfjsNode: () => unknown) {
  return async (specifier: string): Promise<unknown> => {
    if (specifier === '@tensorflow/tfjs-node-gpu') {
      throw Object.assign(new Error(`${NO_CUDA}\n    at Module._extensions..node`), {
        code: 'ERR_DLOPEN_FAILED',
      });
    }
    return tfjsNode();
  };
}

describe('selectBackend when tfjs-node-gpu fails', () => {
  afterEach(async () => {
    await tf.setBackend('cpu');
    if (tf.findBackendFactory('tensorflow')) tf.removeBackend('tensorflow');
  });

  it('names the failed GPU package on the line of the CPU native backend that loaded', async () => {
    // A stand-in "tensorflow" backend: the cpu kernels under that name, with a binding that reports TF_Version.
    const cpu = tf.findBackend('cpu')!;
    tf.registerBackend('tensorflow', () =>
      Object.assign(Object.create(cpu), { binding: { TF_Version: '2.21.0' } }),
    );
    const log = recordingLogger();
    const info = await selectBackend('auto', 'train', log, {
      importModule: loader(() => ({ version: { 'tfjs-node': '4.22.0' } })),
    });
    expect(info.name).toBe('tensorflow');
    expect(info.line).toBe(
      `backend: tensorflow (tfjs-node 4.22.0, TF 2.21.0; tried tfjs-node-gpu: ${NO_CUDA})`,
    );
    expect(log.infos).toEqual([info.line]);
  });

  it('still names both packages when neither loads', async () => {
    const log = recordingLogger();
    const info = await selectBackend('auto', 'train', log, {
      importModule: loader(() => {
        throw new Error('The Node.js native addon module (tfjs_binding.node) can not be found at path: /x');
      }),
    });
    expect(info.name).toBe('cpu');
    expect(log.infos).toEqual([
      `backend: cpu (tried tensorflow: tfjs-node-gpu failed to load: ${NO_CUDA}; tfjs-node native binding not built; run npm run native:build)`,
    ]);
  });
});
