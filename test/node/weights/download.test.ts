import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  defaultWeightsCacheDir,
  downloadFile,
  ensureBackboneWeights,
} from '../../../src/node/weights/download.js';

const BODY = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7) % 251));
const sha256 = createHash('sha256').update(BODY).digest('hex');
const md5 = createHash('md5').update(BODY).digest('hex');

let server: Server;
let base: string;
let dir: string;
const requests: { url: string; range: string | undefined }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', range: req.headers.range });
    if (req.url?.includes('missing')) {
      res.writeHead(404).end();
      return;
    }
    const range = /bytes=(\d+)-/.exec(req.headers.range ?? '');
    const from = range ? Number(range[1]) : 0;
    res.writeHead(range ? 206 : 200, { 'content-length': String(BODY.length - from) });
    res.end(BODY.subarray(from));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((ok) => server.close(ok));
});
beforeEach(async () => {
  requests.length = 0;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = await mkdtemp(join(tmpdir(), 'lesionlab-dl-'));
});

describe('downloadFile', () => {
  it('downloads, checks the sha256 and renames atomically (no .part left)', async () => {
    const dest = join(dir, 'w.h5');
    const seen: number[] = [];
    await downloadFile(`${base}/w.h5`, dest, {
      hash: sha256,
      hashAlgorithm: 'sha256',
      onProgress: (d) => seen.push(d),
    });
    expect((await readFile(dest)).equals(BODY)).toBe(true);
    expect(existsSync(`${dest}.part`)).toBe(false);
    expect(seen.at(-1)).toBe(BODY.length);
  });

  it('resumes from an existing .part with a Range request', async () => {
    const dest = join(dir, 'w.h5');
    await writeFile(`${dest}.part`, BODY.subarray(0, 40_000));
    await downloadFile(`${base}/w.h5`, dest, { hash: md5, hashAlgorithm: 'md5' });
    expect(requests[0]!.range).toBe('bytes=40000-');
    expect((await readFile(dest)).equals(BODY)).toBe(true);
  });

  it('deletes a download whose checksum is wrong and says so (E_CHECKSUM)', async () => {
    const dest = join(dir, 'w.h5');
    await expect(
      downloadFile(`${base}/w.h5`, dest, { hash: '0'.repeat(32), hashAlgorithm: 'md5' }),
    ).rejects.toMatchObject({
      code: 'E_CHECKSUM',
      message: expect.stringContaining(`md5 is ${md5}, expected ${'0'.repeat(32)}`),
    });
    expect(existsSync(dest) || existsSync(`${dest}.part`)).toBe(false);
  });

  it('turns HTTP errors and an unreachable host into one E_DOWNLOAD error', async () => {
    await expect(downloadFile(`${base}/missing.h5`, join(dir, 'm.h5'))).rejects.toMatchObject({
      code: 'E_DOWNLOAD',
      message: expect.stringContaining('HTTP 404'),
    });
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((ok) => closed.close(ok));
    await expect(downloadFile(`http://127.0.0.1:${port}/w.h5`, join(dir, 'o.h5'))).rejects.toMatchObject({
      code: 'E_DOWNLOAD',
      message: expect.stringMatching(
        /^could not download http:\/\/127\.0\.0\.1:\d+\/w\.h5 \(.+\); check the network, or place the file at /,
      ),
    });
  });
});

describe('ensureBackboneWeights', () => {
  it('downloads the registry file name from baseUrl into the cache once, then reuses it', async () => {
    const path = await ensureBackboneWeights('mobilenet_v1', { cacheDir: dir, baseUrl: `${base}/mirror/` });
    expect(path).toBe(join(dir, 'mobilenet_1_0_224_tf_no_top.h5'));
    expect(requests.map((r) => r.url)).toEqual(['/mirror/mobilenet_1_0_224_tf_no_top.h5']);
    await ensureBackboneWeights('mobilenet_v1', { cacheDir: dir, baseUrl: base });
    expect(requests.length).toBe(1);
  });

  it('checks files against the Keras hash (DenseNet121 md5)', async () => {
    await expect(
      ensureBackboneWeights('densenet121', { cacheDir: dir, baseUrl: base }),
    ).rejects.toMatchObject({ code: 'E_CHECKSUM' });
  });

  it('uses LESIONLAB_CACHE, else ~/.cache/lesionlab', () => {
    expect(defaultWeightsCacheDir({ LESIONLAB_CACHE: '/c' })).toBe('/c/weights');
    expect(defaultWeightsCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/lesionlab/weights');
  });
});
