import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultWeightsCacheDir, ensureBackboneWeights } from '../../../src/node/weights/cache.js';
import { closedPortUrl, useBodyServer } from '../../support/body-server.js';

const BODY = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7) % 251));

const served = useBodyServer(BODY, 'lesionlab-weights-');

describe('ensureBackboneWeights', () => {
  it('downloads the registry file name from baseUrl into the cache once, then reuses it', async () => {
    const path = await ensureBackboneWeights('mobilenet_v1', {
      cacheDir: served.dir,
      baseUrl: `${served.base}/mirror/`,
    });
    expect(path).toBe(join(served.dir, 'mobilenet_1_0_224_tf_no_top.h5'));
    expect(served.requests.map((r) => r.url)).toEqual(['/mirror/mobilenet_1_0_224_tf_no_top.h5']);
    await ensureBackboneWeights('mobilenet_v1', { cacheDir: served.dir, baseUrl: served.base });
    expect(served.requests.length).toBe(1);
  });

  it('checks files against the Keras hash (DenseNet121 md5)', async () => {
    await expect(
      ensureBackboneWeights('densenet121', { cacheDir: served.dir, baseUrl: served.base }),
    ).rejects.toMatchObject({ code: 'E_CHECKSUM' });
  });

  it('offline: one E_DOWNLOAD error that says where to place the file by hand', async () => {
    const baseUrl = (await closedPortUrl('/')).replace(/\/$/, '');
    const dest = join(served.dir, 'mobilenet_1_0_224_tf_no_top.h5');
    await expect(
      ensureBackboneWeights('mobilenet_v1', { cacheDir: served.dir, baseUrl }),
    ).rejects.toMatchObject({
      code: 'E_DOWNLOAD',
      message: expect.stringMatching(
        new RegExp(
          `^expected a complete download for ${baseUrl}/mobilenet_1_0_224_tf_no_top\\.h5 but received .+; check the network, or place the file at ${dest} by hand$`,
        ),
      ),
    });
  });

  it('uses LESIONLAB_CACHE, else ~/.cache/lesionlab', () => {
    expect(defaultWeightsCacheDir({ LESIONLAB_CACHE: '/c' })).toBe('/c/weights');
    expect(defaultWeightsCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/lesionlab/weights');
  });
});
