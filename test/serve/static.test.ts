import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/serve/server.js';
import { fakeClassifier, fakeMeta } from '../support/serve-fixtures.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lesionlab-static-'));
  await mkdir(join(root, 'dist', 'ort'), { recursive: true });
  await writeFile(join(root, 'dist', 'index.html'), '<h1>page</h1>');
  await writeFile(join(root, 'dist', 'ort', 'x.wasm'), 'wasm');
  await writeFile(join(root, 'secret.txt'), 'TOP-SECRET-CONTENT');
  await writeFile(join(root, 'model.onnx'), 'onnx-bytes');
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('web page routes', () => {
  it('serves the page, wasm, bundle.json and the ONNX file, and nothing outside dist', async () => {
    const meta = fakeMeta();
    const app = await createServer(fakeClassifier(), {
      web: { distDir: join(root, 'dist'), bundle: { meta, dir: root, onnxPath: join(root, 'model.onnx') } },
    });
    const page = await app.inject({ url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    const wasm = await app.inject({ url: '/ort/x.wasm' });
    expect(wasm.headers['content-type']).toBe('application/wasm');
    expect((await app.inject({ url: '/model/bundle.json' })).json().name).toBe('fake-model');
    expect((await app.inject({ url: '/model/model.onnx' })).body).toBe('onnx-bytes');
    for (const url of ['/../secret.txt', '/%2e%2e/secret.txt', '/ort/..%2f..%2fsecret.txt']) {
      const res = await app.inject({ url });
      expect(res.statusCode).toBe(404);
      expect(res.body).not.toContain('TOP-SECRET-CONTENT');
    }
    await app.close();
  });

  it.each([
    '/%25',
    '/%25zz',
    '/%25%32%65%25%32%65/secret.txt',
    '/%252e%252e/secret.txt',
    '/ort/%25',
    '/%00',
    '/a%2500',
  ])('answers %s with a 404, never a 500 (no second percent-decoding)', async (url) => {
    const app = await pageServer();
    const res = await app.inject({ url });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('E_NOT_FOUND');
    expect(res.body).not.toContain('TOP-SECRET-CONTENT');
    await app.close();
  });

  it('serves a file whose name contains a percent sign', async () => {
    await writeFile(join(root, 'dist', '100%.css'), 'body{}');
    const app = await pageServer();
    const res = await app.inject({ url: '/100%25.css' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('body{}');
    await app.close();
  });

  it.each([
    ['POST', '/'],
    ['PUT', '/model/bundle.json'],
    ['DELETE', '/model/model.onnx'],
  ] as const)('answers %s %s with 405 and Allow: GET, HEAD', async (method, url) => {
    const app = await pageServer();
    const res = await app.inject({ method, url });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.json().error.code).toBe('E_METHOD_NOT_ALLOWED');
    await app.close();
  });
});

function pageServer() {
  const meta = fakeMeta();
  return createServer(fakeClassifier(), {
    web: { distDir: join(root, 'dist'), bundle: { meta, dir: root, onnxPath: join(root, 'model.onnx') } },
  });
}
