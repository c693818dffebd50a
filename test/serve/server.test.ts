import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { at } from '../../src/core/util/at.js';
import { createServer, type ServerOptions } from '../../src/serve/server.js';
import { fakeClassifier, jpeg, multipartBody, pngClaiming } from '../support/serve-fixtures.js';

let app: FastifyInstance | undefined;

async function server(options: ServerOptions = {}, classifier = fakeClassifier()) {
  app = await createServer(classifier, options);
  return { app, classifier };
}

afterEach(async () => {
  await app?.close();
  app = undefined;
});

const post = (
  a: FastifyInstance,
  payload: Buffer | string,
  type: string,
  headers: Record<string, string> = {},
) => a.inject({ method: 'POST', url: '/v1/predict', payload, headers: { 'content-type': type, ...headers } });

describe('POST /v1/predict', () => {
  it('classifies a raw JPEG body and reports model, top-k and latency', async () => {
    // the model takes 30 ms, so the latency the answer reports lies between that and the request's wall time
    const slow = fakeClassifier();
    const classify = slow.classifyPixels.bind(slow);
    slow.classifyPixels = async (batch, count) => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      return classify(batch, count);
    };
    const { app } = await server({}, slow);
    const image = await jpeg();
    const started = performance.now();
    const res = await post(app, image, 'image/jpeg');
    const wallMs = performance.now() - started;
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.model.name).toBe('fake-model');
    const want = at(await fakeClassifier().classifyPixels(await slow.decode!(image), 1), 0);
    expect(Object.keys(body.probabilities)).toEqual(['akiec', 'bcc', 'bkl', 'df', 'mel', 'nv', 'vasc']);
    Object.values(body.probabilities as Record<string, number>).forEach((p, c) => {
      expect(p).toBeCloseTo(at(want, c), 6);
    });
    // the fake model's probabilities grow with the class index: the top 3 are the last three classes
    expect(body.top.map((t: { label: string }) => t.label)).toEqual(['vasc', 'nv', 'mel']);
    expect(body.top[0].probability).toBeCloseTo(at(want, 6), 6);
    expect(body.latencyMs).toBeGreaterThanOrEqual(25);
    expect(body.latencyMs).toBeLessThanOrEqual(wallMs + 0.01);
    expect(body.image).toEqual({ format: 'jpeg', width: 60, height: 45 });
  });

  it('accepts a multipart upload and gives the same answer as the raw body', async () => {
    const { app } = await server();
    const img = await jpeg(30, 30, 10);
    const mp = multipartBody(img);
    const a = (await post(app, mp.body, mp.contentType)).json();
    const b = (await post(app, img, 'image/jpeg')).json();
    expect(a.probabilities).toEqual(b.probabilities);
  });

  it.each([
    ['truncated JPEG', async () => (await jpeg(400, 300)).subarray(0, 300), 'image/jpeg', 400, 'E_BAD_IMAGE'],
    ['PNG declaring 60000x60000', () => pngClaiming(60000, 60000), 'image/png', 413, 'E_IMAGE_TOO_LARGE'],
    [
      'text as image/jpeg',
      async () => Buffer.from('hello, not an image'),
      'image/jpeg',
      415,
      'E_UNSUPPORTED_MEDIA',
    ],
    ['wrong content type', async () => Buffer.from('{"a":1}'), 'text/plain', 415, 'E_UNSUPPORTED_MEDIA'],
    ['empty body', async () => Buffer.alloc(0), 'image/jpeg', 400, 'E_INPUT'],
  ])('answers a %s with a 4xx JSON error and keeps serving', async (_name, make, type, status, code) => {
    const { app } = await server();
    const res = await post(app, await make(), type);
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
    expect(res.json().error.message).toMatch(/\w/);
    expect((await post(app, await jpeg(), 'image/jpeg')).statusCode).toBe(200);
  });

  it('refuses a body over the size limit with 413', async () => {
    const { app } = await server({ maxBodyBytes: 1000 });
    const res = await post(app, await jpeg(600, 450), 'image/jpeg');
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('E_TOO_LARGE');
    const mp = multipartBody(await jpeg(600, 450));
    const res2 = await post(app, mp.body, mp.contentType);
    expect(res2.statusCode).toBe(413);
  });

  it('refuses images above the dimension limit before decoding', async () => {
    const classifier = fakeClassifier();
    let decoded = 0;
    const decode = classifier.decode;
    classifier.decode = (s) => {
      decoded++;
      return decode(s);
    };
    const { app } = await server({ imageLimits: { maxSide: 100 } }, classifier);
    const res = await post(app, await jpeg(101, 20), 'image/jpeg');
    expect(res.statusCode).toBe(413);
    expect(res.json().error.message).toContain('101x20');
    expect(decoded).toBe(0);
  });

  it('batches concurrent requests into fewer model runs', async () => {
    const { app, classifier } = await server({ batcher: { maxBatch: 8, maxWaitMs: 20 } });
    const img = await jpeg();
    const answers = await Promise.all(Array.from({ length: 16 }, () => post(app, img, 'image/jpeg')));
    expect(answers.every((r) => r.statusCode === 200)).toBe(true);
    expect(classifier.calls.reduce((a, b) => a + b, 0)).toBe(16);
    expect(classifier.calls.length).toBeLessThan(16);
    expect(Math.max(...classifier.calls)).toBeLessThanOrEqual(8);
  });

  it('answers a model failure with a 500 that hides internals, then recovers', async () => {
    const classifier = fakeClassifier();
    const ok = classifier.classifyPixels;
    classifier.classifyPixels = async () => {
      throw new Error('secret internal detail');
    };
    const { app } = await server({}, classifier);
    const res = await post(app, await jpeg(), 'image/jpeg');
    expect(res.statusCode).toBe(500);
    expect(res.json().error.code).toBe('E_INTERNAL');
    expect(res.body).not.toContain('secret');
    classifier.classifyPixels = ok;
    expect((await post(app, await jpeg(), 'image/jpeg')).statusCode).toBe(200);
  });

  it('times out a stuck prediction with 503', async () => {
    const classifier = fakeClassifier();
    classifier.classifyPixels = () => new Promise(() => {});
    const { app } = await server({ inferenceTimeoutMs: 50 }, classifier);
    const res = await post(app, await jpeg(), 'image/jpeg');
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('E_TIMEOUT');
  });
});

describe('auth and metadata routes', () => {
  it('requires the bearer token on /v1/* but not on /healthz', async () => {
    const { app } = await server({ token: 's3cret' });
    const img = await jpeg();
    expect((await post(app, img, 'image/jpeg')).statusCode).toBe(401);
    expect((await post(app, img, 'image/jpeg', { authorization: 'Bearer wrong' })).statusCode).toBe(401);
    expect((await post(app, img, 'image/jpeg', { authorization: 'Bearer s3cret' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/model' })).json().error.code).toBe('E_UNAUTHORIZED');
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });

  it('describes the model on GET /v1/model', async () => {
    const { app } = await server();
    const body = (await app.inject({ url: '/v1/model' })).json();
    expect(body.classes).toHaveLength(7);
    expect(body.input).toEqual({ width: 8, height: 8, channels: 3 });
    expect(body.metrics).toEqual({ accuracy: 0.5 });
  });

  it('answers unknown routes with a JSON 404', async () => {
    const { app } = await server();
    const res = await app.inject({ url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('E_NOT_FOUND');
  });
});
