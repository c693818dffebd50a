import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/core/logger.js';
import { downloadFile, downloadResumable, hashFile } from '../../../src/node/net/download.js';
import { closedPortUrl, useBodyServer } from '../../support/body-server.js';

const BODY = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7) % 251));
const sha256 = createHash('sha256').update(BODY).digest('hex');
const md5 = createHash('md5').update(BODY).digest('hex');

const served = useBodyServer(BODY, 'lesionlab-dl-');

describe('downloadFile', () => {
  it('downloads, checks the sha256 and renames atomically (no .part left)', async () => {
    const dest = join(served.dir, 'w.h5');
    const seen: [number, string | undefined][] = [];
    await downloadFile(`${served.base}/w.h5`, dest, {
      checksum: { type: 'SHA-256', value: sha256 },
      label: 'weights',
      onProgress: (done, _total, label) => seen.push([done, label]),
    });
    expect((await readFile(dest)).equals(BODY)).toBe(true);
    expect(existsSync(`${dest}.part`)).toBe(false);
    expect(seen.at(-1)).toEqual([BODY.length, 'weights']);
  });

  it('resumes from an existing .part with a Range request', async () => {
    const dest = join(served.dir, 'w.h5');
    await writeFile(`${dest}.part`, BODY.subarray(0, 40_000));
    await downloadFile(`${served.base}/w.h5`, dest, { checksum: { type: 'md5', value: md5 } });
    expect(served.requests.map((r) => r.range)).toEqual(['bytes=40000-']);
    expect((await readFile(dest)).equals(BODY)).toBe(true);
  });

  it('deletes a download whose checksum is wrong and says so (E_CHECKSUM)', async () => {
    const dest = join(served.dir, 'w.h5');
    const wrong = '0'.repeat(32);
    await expect(
      downloadFile(`${served.base}/w.h5`, dest, {
        checksum: { type: 'MD5', value: wrong },
        fix: 'try later',
      }),
    ).rejects.toMatchObject({
      code: 'E_CHECKSUM',
      message: `expected MD5 ${wrong} for ${served.base}/w.h5 but received ${md5} (the damaged download was deleted); try later`,
    });
    expect(existsSync(dest) || existsSync(`${dest}.part`)).toBe(false);
  });

  it('turns HTTP errors and an unreachable host into one E_DOWNLOAD error that ends with the fix', async () => {
    await expect(
      downloadFile(`${served.base}/missing.h5`, join(served.dir, 'm.h5'), { fix: 'place it by hand' }),
    ).rejects.toMatchObject({
      code: 'E_DOWNLOAD',
      message: `expected a complete download for ${served.base}/missing.h5 but received HTTP 404 Not Found; place it by hand`,
    });
    expect(served.requests.length).toBe(1); // a 4xx is not retried
    const url = await closedPortUrl('/w.h5');
    await expect(downloadFile(url, join(served.dir, 'o.h5'), { retries: 1 })).rejects.toMatchObject({
      code: 'E_DOWNLOAD',
      message: expect.stringMatching(
        /^expected a complete download for http:\/\/127\.0\.0\.1:\d+\/w\.h5 but received request failed: .+; check /,
      ),
    });
  });
});

describe('downloadResumable', () => {
  it('says whether it verified: false without a checksum or with an algorithm it does not know', async () => {
    const part = join(served.dir, 'a.part');
    expect(await downloadResumable(`${served.base}/a`, part)).toBe(false);
    await rm(part);
    expect(
      await downloadResumable(`${served.base}/a`, part, { checksum: { type: 'CRC32', value: 'x' } }),
    ).toBe(false);
    await rm(part);
    expect(
      await downloadResumable(`${served.base}/a`, part, { checksum: { type: 'sha256', value: sha256 } }),
    ).toBe(true);
    expect((await readFile(part)).equals(BODY)).toBe(true);
  });
});

describe('hashFile', () => {
  it('reads the algorithm as a checksum names it (md5, SHA-256, sha256) and refuses unknown ones', async () => {
    const path = join(served.dir, 'b.bin');
    await writeFile(path, BODY);
    expect(await hashFile(path, 'SHA-256')).toBe(sha256);
    expect(await hashFile(path, 'sha256')).toBe(sha256);
    expect(await hashFile(path, 'md5')).toBe(md5);
    await expect(hashFile(path, 'crc32')).rejects.toMatchObject({ code: 'E_CHECKSUM' });
  });
});

/**
 * A server like a real one at the end of a file: a Range from `body.length` on is answered 416, with
 * `Content-Range: bytes *\/N` unless the path contains "bare".
 */
let strict: { base: string; ranges: (string | undefined)[]; close(): Promise<void> };
beforeAll(async () => {
  const ranges: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    ranges.push(req.headers.range);
    const from = Number(/bytes=(\d+)-/.exec(req.headers.range ?? '')?.[1] ?? 0);
    if (from >= BODY.length) {
      const headers = req.url?.includes('bare') ? {} : { 'content-range': `bytes */${BODY.length}` };
      res.writeHead(416, headers).end();
      return;
    }
    res.writeHead(from > 0 ? 206 : 200, { 'content-length': String(BODY.length - from) });
    res.end(BODY.subarray(from));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  strict = {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ranges,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
});
afterAll(() => strict.close());

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (line: string) => {
    lines.push(line);
  };
  return { lines, info: log, warn: log };
}

describe('resuming at the end of the file (HTTP 416)', () => {
  it('keeps a part that is exactly as long as the Content-Range total says', async () => {
    strict.ranges.length = 0;
    const part = join(served.dir, 'done.part');
    await writeFile(part, BODY);
    expect(await downloadResumable(`${strict.base}/f`, part, { checksum: { type: 'md5', value: md5 } })).toBe(
      true,
    );
    expect(strict.ranges).toEqual([`bytes=${BODY.length}-`]);
  });

  it('restarts a part longer than the file instead of taking it as complete', async () => {
    strict.ranges.length = 0;
    const dest = join(served.dir, 'long.bin');
    await writeFile(
      `${dest}.part`,
      Buffer.concat([BODY, Buffer.from('stale tail of an older, longer file')]),
    );
    const logger = recordingLogger();
    await downloadFile(`${strict.base}/f`, dest, { logger });
    expect((await readFile(dest)).equals(BODY)).toBe(true);
    expect(strict.ranges).toEqual([`bytes=${BODY.length + 35}-`, undefined]);
    expect(logger.lines.join('\n')).toContain(
      `cannot resume at ${BODY.length + 35} bytes (the file has ${BODY.length} bytes); downloading it again`,
    );
  });

  it('without a Content-Range total, trusts only a known size and otherwise restarts', async () => {
    strict.ranges.length = 0;
    const dest = join(served.dir, 'bare.bin');
    const junk = Buffer.alloc(BODY.length + 7, 1);
    await writeFile(`${dest}.part`, junk);
    await downloadFile(`${strict.base}/bare`, dest);
    expect((await readFile(dest)).equals(BODY)).toBe(true);
    expect(strict.ranges).toEqual([`bytes=${junk.length}-`, undefined]);
    strict.ranges.length = 0;
    await writeFile(`${dest}.part`, BODY);
    await downloadFile(`${strict.base}/bare`, dest, { size: BODY.length });
    expect((await readFile(dest)).equals(BODY)).toBe(true);
    expect(strict.ranges).toEqual([`bytes=${BODY.length}-`]);
  });
});

describe('one download of a part file at a time (the .part.lock)', () => {
  it('lets two concurrent downloads of one file not append to the same .part', async () => {
    const dest = join(served.dir, 'w.h5');
    await writeFile(`${dest}.part`, BODY.subarray(0, 40_000));
    const options = { checksum: { type: 'sha256', value: sha256 } };
    const results = await Promise.allSettled([
      downloadFile(`${served.base}/w.h5`, dest, options),
      downloadFile(`${served.base}/w.h5`, dest, options),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect((await readFile(dest)).equals(BODY)).toBe(true);
    // the second found the first's verified file in place and downloaded nothing
    expect(served.requests.map((r) => r.range)).toEqual(['bytes=40000-']);
    expect(await readdir(served.dir)).toEqual(['w.h5']);
  });

  it('serialises concurrent downloadResumable calls on one part file', async () => {
    const part = join(served.dir, 'data.zip.part');
    await writeFile(part, BODY.subarray(0, 10_000));
    const checksum = { type: 'md5', value: md5 };
    const verified = await Promise.all([
      downloadResumable(`${served.base}/d`, part, { checksum }),
      downloadResumable(`${served.base}/d`, part, { checksum }),
    ]);
    expect(verified).toEqual([true, true]);
    expect((await readFile(part)).equals(BODY)).toBe(true);
    expect(served.requests.map((r) => r.range)).toEqual(['bytes=10000-', `bytes=${BODY.length}-`]);
    expect(existsSync(`${part}.lock`)).toBe(false);
  });

  it('waits while a live process holds the lock, and says so', async () => {
    const dest = join(served.dir, 'held.bin');
    const lock = `${dest}.part.lock`;
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), token: 'other' }));
    const logger = recordingLogger();
    const download = downloadFile(`${served.base}/held`, dest, { logger });
    await sleep(600);
    expect(served.requests).toEqual([]);
    expect(logger.lines.join('\n')).toContain(`waiting for process ${process.pid} on ${hostname()}`);
    await rm(lock);
    await download;
    expect((await readFile(dest)).equals(BODY)).toBe(true);
    expect(existsSync(lock)).toBe(false);
  });

  it('takes over a lock whose process is gone and that missed its heartbeats, or one from another host not refreshed for minutes', async () => {
    const dest = join(served.dir, 'stale.bin');
    const lock = `${dest}.part.lock`;
    await writeFile(lock, JSON.stringify({ pid: 99_999_999, host: hostname(), token: 'dead' }));
    const missed = new Date(Date.now() - 20_000);
    await utimes(lock, missed, missed);
    await downloadFile(`${served.base}/stale`, dest);
    expect((await readFile(dest)).equals(BODY)).toBe(true);
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: 'elsewhere.invalid', token: 'old' }));
    const old = new Date(Date.now() - 5 * 60_000);
    await utimes(lock, old, old);
    await downloadFile(`${served.base}/stale`, dest);
    expect(served.requests.length).toBe(2);
    expect(await readdir(served.dir)).toEqual(['stale.bin']);
  });

  it('releases the lock when the download fails', async () => {
    const dest = join(served.dir, 'missing.bin');
    await expect(downloadFile(`${served.base}/missing`, dest)).rejects.toMatchObject({ code: 'E_DOWNLOAD' });
    expect(await readdir(served.dir)).toEqual([]);
  });
});
