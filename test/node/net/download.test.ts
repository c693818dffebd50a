import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
