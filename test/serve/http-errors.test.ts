import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type ServerOptions } from '../../src/serve/server.js';
import { httpRequest, listenLoopback, type RawAnswer, rawRequest } from '../support/raw-http.js';
import { fakeClassifier, jpeg } from '../support/serve-fixtures.js';

let app: FastifyInstance | undefined;

async function start(options: ServerOptions = {}, classifier = fakeClassifier()): Promise<number> {
  app = await createServer(classifier, options);
  return listenLoopback(app);
}

afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** Our error shape and nothing else: `{ error: { code, message } }`. */
function expectApiError(answer: RawAnswer, status: number, code: string): void {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(answer.body);
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
  expect(body.error.code).toBe(code);
  expect(body.error.message).toMatch(/\w/);
}

describe('errors raised by the framework use the API error shape', () => {
  it.each(['/%zz', '/%', '/v1/%zz', '/v1/predict/%E0%A4%A'])('400 for the bad URL %s', async (target) => {
    const port = await start();
    const res = await rawRequest(port, httpRequest('GET', target));
    expectApiError(res, 400, 'E_INPUT');
    expect(JSON.parse(res.body).error.message).toContain('%25');
  });

  it('431 for oversized headers', async () => {
    const port = await start();
    const res = await rawRequest(
      port,
      httpRequest('GET', '/healthz', { headers: { 'X-Big': 'a'.repeat(20_000) } }),
    );
    expectApiError(res, 431, 'E_TOO_LARGE');
  });

  it('400 for a request that is not HTTP', async () => {
    const port = await start();
    expectApiError(await rawRequest(port, 'HELLO THERE\r\n\r\n'), 400, 'E_INPUT');
  });

  it('400 for malformed JSON and 413 for an oversized body', async () => {
    const port = await start({ maxBodyBytes: 1000 });
    const json = await rawRequest(
      port,
      httpRequest('POST', '/v1/predict', { body: Buffer.from('{'), type: 'application/json' }),
    );
    expectApiError(json, 400, 'E_INPUT');
    const big = await rawRequest(port, httpRequest('POST', '/v1/predict', { body: Buffer.alloc(5000, 1) }));
    expectApiError(big, 413, 'E_TOO_LARGE');
  });
});

describe('request timeout', () => {
  it('defaults to 10 s for headers and body alike', async () => {
    await start();
    const server = app!.server;
    expect(server.requestTimeout).toBe(10_000);
    expect(server.headersTimeout).toBe(10_000);
  });

  it('cuts a stalled body with a 408 soon after the timeout, then keeps serving', async () => {
    const port = await start({ requestTimeoutMs: 300 });
    const head =
      'POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: 5000\r\n\r\n';
    const res = await rawRequest(port, `${head}only-a-few-bytes`, 5000);
    expectApiError(res, 408, 'E_TIMEOUT');
    expect(res.ms).toBeGreaterThanOrEqual(250);
    expect(res.ms).toBeLessThan(2000);
    const ok = await rawRequest(port, httpRequest('POST', '/v1/predict', { body: await jpeg() }));
    expect(ok.status).toBe(200);
  });

  it('cuts stalled headers with a 408 too', async () => {
    const port = await start({ requestTimeoutMs: 300 });
    const res = await rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', 5000);
    expectApiError(res, 408, 'E_TIMEOUT');
    expect(res.ms).toBeLessThan(2000);
  });

  it('refuses a timeout that is not a positive integer', async () => {
    await expect(createServer(fakeClassifier(), { requestTimeoutMs: 0 })).rejects.toMatchObject({
      code: 'E_CONFIG',
    });
  });
});

describe('wrong methods on known routes', () => {
  it.each([
    ['GET', '/v1/predict', 'POST'],
    ['PUT', '/v1/predict', 'POST'],
    ['DELETE', '/v1/predict', 'POST'],
    ['GET', '/%761/predict', 'POST'],
    ['POST', '/v1/model', 'GET, HEAD'],
    ['PATCH', '/v1/model', 'GET, HEAD'],
    ['POST', '/healthz', 'GET, HEAD'],
  ])('%s %s is 405 with Allow: %s', async (method, target, allow) => {
    const port = await start();
    const res = await rawRequest(port, httpRequest(method, target));
    expectApiError(res, 405, 'E_METHOD_NOT_ALLOWED');
    expect(res.headers.allow).toBe(allow);
  });

  it('answers 405 before reading or parsing a body', async () => {
    const port = await start();
    const res = await rawRequest(
      port,
      httpRequest('PUT', '/v1/predict', { body: Buffer.from('x'), type: 'application/x-unknown' }),
    );
    expectApiError(res, 405, 'E_METHOD_NOT_ALLOWED');
  });

  it('asks for the token before saying which methods a protected route takes', async () => {
    const port = await start({ token: 'tok' });
    expectApiError(await rawRequest(port, httpRequest('GET', '/v1/predict')), 401, 'E_UNAUTHORIZED');
    const authed = await rawRequest(
      port,
      httpRequest('GET', '/v1/predict', { headers: { Authorization: 'Bearer tok' } }),
    );
    expectApiError(authed, 405, 'E_METHOD_NOT_ALLOWED');
  });
});

describe('shutdown', () => {
  it('finishes the request in flight and answers one that arrives during close with our 503', async () => {
    const classifier = fakeClassifier();
    const classify = classifier.classifyPixels.bind(classifier);
    let release: () => void = () => {};
    let entered: () => void = () => {};
    const inModel = new Promise<void>((resolve) => {
      entered = resolve;
    });
    classifier.classifyPixels = async (batch, count) => {
      entered();
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return classify(batch, count);
    };
    const port = await start({}, classifier);
    const { connect } = await import('node:net');
    const socket = connect(port, '127.0.0.1');
    let raw = '';
    socket.on('data', (d: Buffer) => {
      raw += d.toString('latin1');
    });
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const img = await jpeg();
    socket.write(
      `POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: ${img.length}\r\n\r\n`,
    );
    socket.write(img);
    await inModel;
    const closing = app!.close();
    while (app!.server.listening) await new Promise((resolve) => setTimeout(resolve, 5));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 3000))]);
    socket.destroy();
    await closing;
    app = undefined;
    const statuses = [...raw.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
    expect(statuses).toEqual(['200', '503']);
    expect(raw).toContain('"code":"E_UNAVAILABLE"');
  });
});
