import { afterEach, describe, expect, it } from 'vitest';
import { HAM10000_SITES, OFFSET_WIDTH } from '../../src/core/train/metadata.js';
import { createServer } from '../../src/serve/server.js';
import { fakeClassifier, jpeg } from '../support/serve-fixtures.js';

let close: (() => Promise<unknown>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function serverWith(branch: boolean) {
  const classifier = fakeClassifier();
  const weights = Array.from({ length: 7 * OFFSET_WIDTH }, (_, i) => (i === 5 ? 3 : 0)); // class 0, face
  const meta = branch
    ? {
        ...classifier.meta,
        metadata: {
          fields: ['age', 'sex', 'localization'] as ('age' | 'sex' | 'localization')[],
          sites: [...HAM10000_SITES],
          fusion: 'logit-offsets' as const,
          weights,
        },
      }
    : classifier.meta;
  const app = await createServer({ ...classifier, meta });
  close = () => app.close();
  return app;
}

const post = async (app: Awaited<ReturnType<typeof serverWith>>, query = '') =>
  app.inject({
    method: 'POST',
    url: `/v1/predict${query}`,
    payload: await jpeg(),
    headers: { 'content-type': 'image/jpeg' },
  });

describe('POST /v1/predict with optional lesion metadata (query string)', () => {
  it('fuses metadata when the bundle declares a branch and says whether it was used', async () => {
    const app = await serverWith(true);
    const plain = (await post(app)).json();
    const face = (await post(app, '?localization=face&age=40&dx_type=histo')).json();
    expect([plain.metadata, face.metadata]).toEqual([false, true]);
    expect(face.probabilities.akiec).toBeGreaterThan(plain.probabilities.akiec);
    const bad = await post(app, '?localization=elbow');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/for the metadata localization but received "elbow"/);
  });

  it('answers a bad age or sex with a 400 naming it, never by dropping it silently', async () => {
    const app = await serverWith(true);
    for (const [query, field] of [
      ['?age=abc', 'age'],
      ['?age=45abc', 'age'],
      ['?age=-3', 'age'],
      ['?age=450', 'age'],
      ['?sex=xyz', 'sex'],
      ['?sex=f', 'sex'],
    ] as const) {
      const res = await post(app, query);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error.message).toContain(`for the metadata ${field} but received`);
    }
    const ok = await post(app, '?age=45.5&sex=Female&localization=face');
    expect(ok.statusCode).toBe(200);
    expect((await post(app, '?age=unknown&sex=unknown')).json().metadata).toBe(false);
  });

  it('ignores metadata for a bundle without a branch', async () => {
    const app = await serverWith(false);
    const body = (await post(app, '?localization=face')).json();
    expect(body.metadata).toBe(false);
    expect(body.views).toEqual(['identity']);
  });
});
