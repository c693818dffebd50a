import { afterEach, describe, expect, it, vi } from 'vitest';
import { fetchBundleMeta } from '../../src/browser/classify.js';

const answer = (status: number, body: unknown) =>
  vi.fn(async () => new Response(JSON.stringify(body), { status }));

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('fetchBundleMeta', () => {
  it('names the URL and the fix for an HTTP error, with a stable code', async () => {
    vi.stubGlobal('fetch', answer(404, {}));
    await expect(fetchBundleMeta('http://x/model/bundle.json')).rejects.toMatchObject({
      code: 'E_MODEL_BUNDLE',
      message:
        'expected an HTTP 200 answer for http://x/model/bundle.json but received HTTP 404; is the page served by `lesionlab web <model>`?',
    });
  });

  it('names the first invalid field of a bundle.json', async () => {
    vi.stubGlobal('fetch', answer(200, { format: 'lesionlab-model', version: 2 }));
    await expect(fetchBundleMeta('b.json')).rejects.toMatchObject({
      code: 'E_MODEL_BUNDLE',
      message:
        'expected one of 1 at "version" for the model bundle metadata b.json but received 2; was it written by lesionlab (format "lesionlab-model", version 1)?',
    });
  });

  it('names a bundle.json that is not JSON', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response('<html>', { status: 200 })),
    );
    await expect(fetchBundleMeta('b.json')).rejects.toMatchObject({
      code: 'E_MODEL_BUNDLE',
      message: expect.stringMatching(
        /^expected valid JSON for the model bundle metadata b\.json but received text that does not parse \(.*\); was it written by lesionlab/,
      ),
    });
  });
});
