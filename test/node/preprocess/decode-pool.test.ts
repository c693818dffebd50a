import { readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreprocessSpec } from '../../../src/core/preprocess/spec.js';
import { at } from '../../../src/core/util/at.js';
import { decodeImage } from '../../../src/node/preprocess/decode-image.js';
import { type Decoder, startDecoder } from '../../../src/node/preprocess/decode-pool.js';
import { failureOf } from '../../support/failure.js';
import { tempDir, writeCorrupt } from '../../support/image-files.js';

const SAMPLE = resolve(import.meta.dirname, '../../../data/sample/ham10000/HAM10000_images_part_1');
const SPEC: PreprocessSpec = { width: 64, height: 48, resize: 'crop', colorConstancy: true };

let dir: string;
let decoder: Decoder;
const warnings: string[] = [];
const logger = { info: () => {}, warn: (m: string) => warnings.push(m) };

beforeAll(async () => {
  dir = await tempDir();
  decoder = await startDecoder({ workers: 2, logger });
});
afterAll(async () => {
  await decoder.close();
  await rm(dir, { recursive: true, force: true });
});

describe('startDecoder', () => {
  it('starts worker threads under vitest (TypeScript sources, no loader of its own)', () => {
    expect(warnings).toEqual([]);
    expect(decoder.workers).toBe(2);
  });

  it('returns exactly the pixels decodeImage makes in this thread', async () => {
    const files = (await readdir(SAMPLE)).slice(0, 8).map((f) => join(SAMPLE, f));
    const fromWorkers = await Promise.all(files.map((f) => decoder.decode(f, SPEC)));
    for (const [i, file] of files.entries()) {
      expect(fromWorkers[i]).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(at(fromWorkers, i)).equals(await decodeImage(file, SPEC))).toBe(true);
    }
  });

  it('carries LesionlabError codes and messages across the thread boundary', async () => {
    const corrupt = join(dir, 'corrupt.jpg');
    await writeCorrupt(corrupt);
    const missing = join(dir, 'missing.jpg');
    for (const path of [corrupt, missing]) {
      expect(await failureOf(decoder.decode(path, SPEC))).toBe(await failureOf(decodeImage(path, SPEC)));
    }
    expect(await failureOf(decoder.decode(corrupt, SPEC))).toMatch(
      /^E_BAD_IMAGE: expected an image lesionlab can decode for .*corrupt\.jpg but received a file it cannot decode/,
    );
    expect(await failureOf(decoder.decode(missing, SPEC))).toMatch(
      /^E_MISSING_FILE: expected an image file for .*missing\.jpg but received no such file/,
    );
  });

  it('falls back to decoding in this thread, with one warning, when workers cannot start', async () => {
    const lines: string[] = [];
    const fallback = await startDecoder({
      workers: 2,
      logger: { info: () => {}, warn: (m) => lines.push(m) },
      workerEntry: new URL('file:///nonexistent/decode-worker.mjs'),
    });
    expect(fallback.workers).toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^decode workers did not start \(.*\); decoding in the main thread$/);
    const file = join(SAMPLE, at(await readdir(SAMPLE), 0));
    expect(Buffer.from(await fallback.decode(file, SPEC)).equals(await decodeImage(file, SPEC))).toBe(true);
    await fallback.close();
  });

  it('rejects decodes after close', async () => {
    const pool = await startDecoder({ workers: 1, logger });
    await pool.close();
    await pool.close();
    await expect(pool.decode(join(SAMPLE, 'x.jpg'), SPEC)).rejects.toThrow(/decode pool is closed/);
  });
});
