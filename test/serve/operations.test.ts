import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { decodeImage } from '../../src/node/preprocess/decode-image.js';
import { type Decoder, startDecoder } from '../../src/node/preprocess/decode-pool.js';
import { WorkerLostError } from '../../src/node/threads/pool.js';
import { jsonLogger } from '../../src/serve/log.js';
import { createServer, type ServerOptions } from '../../src/serve/server.js';
import { fakeClassifier, jpeg } from '../support/serve-fixtures.js';

let app: FastifyInstance | undefined;
let pool: Decoder | undefined;

afterEach(async () => {
  await app?.close();
  await pool?.close();
  app = undefined;
  pool = undefined;
});

async function server(options: ServerOptions = {}, classifier = fakeClassifier()) {
  app = await createServer(classifier, options);
  return app;
}

const predict = (a: FastifyInstance, body: Buffer, headers: Record<string, string> = {}) =>
  a.inject({
    method: 'POST',
    url: '/v1/predict',
    payload: body,
    headers: { 'content-type': 'image/jpeg', ...headers },
  });

/** A classifier whose forward pass waits until `release()` is called. */
function heldClassifier() {
  const classifier = fakeClassifier();
  const run = classifier.classifyPixels;
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  classifier.classifyPixels = async (b, n) => {
    await gate;
    return run(b, n);
  };
  return { classifier, release: () => release() };
}

describe('backpressure and readiness', () => {
  it('answers 503 E_BUSY with Retry-After when the admission queue is full, and /readyz says so', async () => {
    const { classifier, release } = heldClassifier();
    const a = await server({ batcher: { maxBatch: 1, maxQueue: 2, retryAfterS: 2 } }, classifier);
    expect((await a.inject({ url: '/readyz' })).statusCode).toBe(200);
    await a.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(a.server.address() as { port: number }).port}/v1/predict`;
    const img = await jpeg();
    const send = () =>
      fetch(url, { method: 'POST', body: new Uint8Array(img), headers: { 'content-type': 'image/jpeg' } });
    const queued = async (n: number) => {
      while ((await a.inject({ url: '/healthz' })).json().queued < n)
        await new Promise((r) => setTimeout(r, 10));
    };
    // One runs (held), two wait: the queue (2) is full.
    const held = [send()];
    await new Promise((r) => setTimeout(r, 200));
    held.push(send());
    await queued(1);
    held.push(send());
    await queued(2);
    const refused = await predict(a, img);
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('2');
    expect(refused.json().error.code).toBe('E_BUSY');
    const ready = await a.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect((await a.inject({ url: '/healthz' })).statusCode).toBe(200);
    release();
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200, 200]);
    expect((await a.inject({ url: '/readyz' })).json().status).toBe('ready');
  });

  it('finishes in-flight predictions on close and refuses new ones with 503', async () => {
    const { classifier, release } = heldClassifier();
    const a = await server({}, classifier);
    await a.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(a.server.address() as { port: number }).port}`;
    const img = await jpeg();
    const inFlight = fetch(`${url}/v1/predict`, {
      method: 'POST',
      body: new Uint8Array(img),
      headers: { 'content-type': 'image/jpeg' },
    });
    await new Promise((r) => setTimeout(r, 200));
    const closing = a.close();
    const late = await fetch(`${url}/healthz`).then(
      (r) => r.status,
      () => 'refused',
    );
    expect(late === 503 || late === 'refused').toBe(true);
    release();
    expect((await inFlight).status).toBe(200);
    await closing;
    app = undefined;
  }, 15_000);
});

describe('metrics, request ids and logs', () => {
  it('serves Prometheus metrics: requests, latency histogram, batch sizes, queue depth', async () => {
    const a = await server();
    const img = await jpeg();
    await Promise.all([predict(a, img), predict(a, img), predict(a, img)]);
    await a.inject({ url: '/nope' });
    const res = await a.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    expect(text).toMatch(
      /lesionlab_http_requests_total\{method="POST",route="\/v1\/predict",status="200"\} 3/,
    );
    expect(text).toMatch(/lesionlab_http_requests_total\{method="GET",route="unmatched",status="404"\} 1/);
    expect(text).toMatch(
      /lesionlab_http_request_duration_seconds_bucket\{le="0.1",method="POST",route="\/v1\/predict"\}/,
    );
    expect(text).toMatch(/lesionlab_batch_size_sum 3/);
    expect(text).toMatch(/lesionlab_queue_depth\{stage="waiting"\} 0/);
    expect(text).toMatch(/lesionlab_process_resident_memory_bytes/);
  });

  it('keeps /metrics open when /v1 needs a token', async () => {
    const a = await server({ token: 't0k' });
    expect((await a.inject({ url: '/metrics' })).statusCode).toBe(200);
    expect((await a.inject({ url: '/readyz' })).statusCode).toBe(200);
  });

  it('echoes or creates X-Request-Id and logs one JSON line per request with it', async () => {
    const lines: string[] = [];
    const a = await server({ logger: jsonLogger((l) => lines.push(l)) });
    const given = await predict(a, await jpeg(), { 'x-request-id': 'abc-123' });
    expect(given.headers['x-request-id']).toBe('abc-123');
    const odd = await a.inject({ url: '/healthz', headers: { 'x-request-id': 'bad id\u0001' } });
    expect(odd.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const entries = lines.map((l) => JSON.parse(l));
    expect(entries[0]).toMatchObject({
      level: 'info',
      msg: 'request',
      reqId: 'abc-123',
      method: 'POST',
      route: '/v1/predict',
      status: 200,
    });
    expect(entries[0].ms).toBeGreaterThan(0);
    expect(Date.parse(entries[0].time)).not.toBeNaN();
    expect(entries[1].reqId).toBe(odd.headers['x-request-id']);
  });
});

describe('decoding off the event loop', () => {
  it('decodes uploads through the given decoder, and a failed decode frees its place', async () => {
    const classifier = fakeClassifier();
    const seen: number[] = [];
    const decoder: Decoder = {
      workers: 1,
      decode: async (source, spec) => {
        seen.push(typeof source === 'string' ? -1 : source.length);
        if (seen.length === 1) throw new Error('corrupt');
        return new Uint8Array(spec.width * spec.height * 3).fill(9);
      },
      close: async () => {},
    };
    const a = await server({ decoder, batcher: { maxQueue: 1 } }, classifier);
    const img = await jpeg();
    const bad = await predict(a, img);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('E_BAD_IMAGE');
    expect((await predict(a, img)).statusCode).toBe(200);
    expect(seen).toEqual([img.length, img.length]);
  });

  it('hands the decoder the upright size the upload check read (no second header read in the worker)', async () => {
    const seen: unknown[] = [];
    const decoder: Decoder = {
      workers: 1,
      decode: async (_source, spec, hints) => {
        seen.push(hints);
        return new Uint8Array(spec.width * spec.height * 3);
      },
      close: async () => {},
    };
    const a = await server({ decoder });
    const turned = await sharp(await jpeg(40, 20))
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toBuffer();
    const res = await predict(a, turned);
    expect(res.statusCode).toBe(200);
    expect(res.json().image).toEqual({ format: 'jpeg', width: 40, height: 20 });
    expect(seen).toEqual([{ upright: { width: 20, height: 40 }, maxPixels: 40_000_000 }]);
  });

  it("the image cache's worker pool decodes bytes exactly as the main thread does", async () => {
    pool = await startDecoder({ workers: 1, logger: silentLogger });
    expect(pool.workers).toBe(1);
    const img = await jpeg(300, 200, 90);
    const spec = { width: 16, height: 12, resize: 'crop', colorConstancy: true } as const;
    expect(await pool.decode(new Uint8Array(img), spec)).toEqual(await decodeImage(img, spec));
    await expect(pool.decode(Uint8Array.of(1, 2, 3), spec)).rejects.toMatchObject({ code: 'E_BAD_IMAGE' });
  });

  it('answers 503 when a decode worker dies under an upload (not 400), and decodes the next in its replacement', async () => {
    // Each decode thread of this entry dies on its 2nd request, as a native abort or running out of memory would.
    const workerEntry = new URL('../support/dying-decode-entry.mjs', import.meta.url);
    pool = await startDecoder({ workers: 1, logger: silentLogger, workerEntry });
    const lines: string[] = [];
    const a = await server({ decoder: pool, logger: jsonLogger((l) => lines.push(l)) });
    const img = await jpeg();
    expect((await predict(a, img)).statusCode).toBe(200);
    const lost = await predict(a, img);
    expect(lost.statusCode).toBe(503);
    expect(lost.headers['retry-after']).toBe('1');
    expect(lost.json().error).toEqual({
      code: 'E_UNAVAILABLE',
      message: 'a worker thread stopped before answering; retry in a moment',
    });
    expect(lines.some((l) => l.includes('decode worker exited with code 1'))).toBe(true);
    expect((await a.inject({ url: '/readyz' })).statusCode).toBe(200);
    // The replacement decodes (its 1st request), and an undecodable image is still the client's 400.
    const truncated = await predict(a, (await jpeg(400, 300)).subarray(0, 300));
    expect(truncated.statusCode).toBe(400);
    expect(truncated.json().error.code).toBe('E_BAD_IMAGE');
    expect(pool.workers).toBe(1);
    expect(pool.live).toBe(1);
  });

  it('answers 503 when an inference worker dies under a batch', async () => {
    const inference = {
      workers: 1,
      threadsPerWorker: 1,
      classifyPixels: async () => {
        throw new WorkerLostError('the inference worker thread stopped before answering (exited); try again');
      },
      close: async () => {},
    };
    const res = await predict(await server({ inference }), await jpeg());
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('E_UNAVAILABLE');
  });

  it.each(['decoder', 'inference'] as const)(
    '/readyz answers 503 while the %s pool has no worker left',
    async (which) => {
      const decoder: Decoder & { broken: boolean } = {
        workers: 1,
        broken: false,
        decode: async () => new Uint8Array(8 * 8 * 3),
        close: async () => {},
      };
      const inference = {
        workers: 1,
        threadsPerWorker: 1,
        broken: false,
        classifyPixels: fakeClassifier().classifyPixels,
        close: async () => {},
      };
      const a = await server({ decoder, inference });
      expect((await a.inject({ url: '/readyz' })).statusCode).toBe(200);
      (which === 'decoder' ? decoder : inference).broken = true;
      const ready = await a.inject({ url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.headers['retry-after']).toBe('5');
      expect(ready.json().error).toEqual({
        code: 'E_UNAVAILABLE',
        message: `not ready: every ${which === 'decoder' ? 'decode' : 'inference'} worker thread died; retry later`,
      });
      expect((await a.inject({ url: '/healthz' })).statusCode).toBe(200);
    },
  );
});
