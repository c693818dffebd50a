import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/serve/server.js';
import { fakeClassifier, jpeg, multipartBody } from '../support/serve-fixtures.js';

let app: FastifyInstance;
let img: Buffer;

beforeAll(async () => {
  app = await createServer(fakeClassifier());
  img = await jpeg(30, 30, 10);
});
afterAll(() => app.close());

const BOUNDARY = '----lesionlabtest';

function filePart(field: string, bytes: Buffer): Buffer {
  const head = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${field}"; filename="${field}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), bytes, Buffer.from('\r\n')]);
}

const post = (payload: Buffer, type = `multipart/form-data; boundary=${BOUNDARY}`) =>
  app.inject({ method: 'POST', url: '/v1/predict', payload, headers: { 'content-type': type } });

describe('multipart uploads to POST /v1/predict', () => {
  it.each([
    [
      'no boundary',
      () => multipartBody(img).body,
      'multipart/form-data',
      /^expected a well-formed multipart body for POST \/v1\/predict but received a malformed one/,
    ],
    [
      'a part cut short',
      () => multipartBody(img).body.subarray(0, 150),
      undefined,
      /^expected a well-formed multipart body for POST \/v1\/predict but received a malformed one/,
    ],
    [
      'a missing closing boundary',
      () => filePart('image', img),
      undefined,
      /^expected a well-formed multipart body for POST \/v1\/predict but received a malformed one/,
    ],
    ['garbage instead of parts', () => Buffer.from('not multipart at all'), undefined, /multipart/],
    ['no file part', () => Buffer.from(`--${BOUNDARY}--\r\n`), undefined, /no file part/],
  ])('answers %s with a 400, not a 500', async (_name, make, type, message) => {
    const res = await post(make(), type);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('E_INPUT');
    expect(res.json().error.message).toMatch(message);
  });

  it('refuses two files by name instead of dropping one', async () => {
    const body = Buffer.concat([
      filePart('a', img),
      filePart('b', await jpeg()),
      Buffer.from(`--${BOUNDARY}--\r\n`),
    ]);
    const res = await post(body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toEqual({
      code: 'E_INPUT',
      message:
        'expected one file part for the multipart body but received more than one file (fields "a" and "b"); send exactly one image per request as a file field',
    });
  });

  it('refuses three files too', async () => {
    const parts = ['a', 'b', 'c'].map((f) => filePart(f, img));
    const res = await post(Buffer.concat([...parts, Buffer.from(`--${BOUNDARY}--\r\n`)]));
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/more than one file/);
  });

  it('still takes one file beside ordinary fields, and keeps serving after bad bodies', async () => {
    const field = Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n`,
    );
    const res = await post(
      Buffer.concat([field, filePart('image', img), Buffer.from(`--${BOUNDARY}--\r\n`)]),
    );
    expect(res.statusCode).toBe(200);
    expect(res.json().image).toEqual({ format: 'jpeg', width: 30, height: 30 });
  });
});
