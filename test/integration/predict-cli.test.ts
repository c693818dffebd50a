import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAM10000_CLASSES } from '../../src/core/labels.js';
import { writeModelBundle } from '../../src/node/bundle/write.js';
import { buildTinyModel, TINY_NORM, TINY_SPEC } from '../node/bundle/tiny-model.js';

const run = promisify(execFile);
const SAMPLE = join(process.cwd(), 'data/sample/ham10000');
let root: string;

async function lesionlab(...args: string[]) {
  return run(process.execPath, ['bin/lesionlab.js', ...args], { cwd: process.cwd(), maxBuffer: 1 << 24 });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lesionlab-predict-'));
  const model = buildTinyModel();
  await writeModelBundle(join(root, 'run', 'model'), {
    model,
    name: 'tiny',
    backbone: 'tiny',
    classes: HAM10000_CLASSES,
    preprocess: TINY_SPEC,
    normalization: TINY_NORM,
  });
  model.dispose();
  const part1 = join(SAMPLE, 'HAM10000_images_part_1');
  const images = (await readdir(part1)).filter((f) => f.endsWith('.jpg')).slice(0, 5);
  await mkdir(join(root, 'imgs'));
  for (const f of images) await copyFile(join(part1, f), join(root, 'imgs', f));
  await writeFile(join(root, 'imgs', 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0x00, 1, 2, 3]));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('lesionlab predict (CLI, embedded HAM10000 sample)', () => {
  it('classifies a folder from a run dir as JSON lines, skipping the unreadable image with a warning', async () => {
    const { stdout, stderr } = await lesionlab(
      'predict',
      join(root, 'run'),
      join(root, 'imgs'),
      '--format',
      'jsonl',
      '--batch-size',
      '2',
    );
    const rows = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(6);
    const broken = rows.find((r) => r.path.endsWith('broken.jpg'));
    expect(broken.error).toMatch(/cannot decode/);
    const good = rows.filter((r) => !r.error);
    expect(good).toHaveLength(5);
    for (const r of good) {
      expect(Object.keys(r.probabilities)).toEqual([...HAM10000_CLASSES]);
      expect(r.top).toHaveLength(3);
    }
    expect(stderr).toContain('1 of 6 image(s) could not be read');
  });

  it('reads HAM10000_metadata.csv (image ids) and prints CSV with --top-k 1 and TTA', async () => {
    const { stdout } = await lesionlab(
      'predict',
      join(root, 'run', 'model'),
      join(SAMPLE, 'HAM10000_metadata.csv'),
      '--format',
      'csv',
      '--top-k',
      '1',
      '--tta',
      'flips',
    );
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe('path,label_1,prob_1,error');
    expect(lines).toHaveLength(145);
    expect(lines.slice(1).every((l) => /\.jpg,(akiec|bcc|bkl|df|mel|nv|vasc),0\.\d{6},$/.test(l))).toBe(true);
  });

  it('fails with one readable line for a bad option', async () => {
    const err = await lesionlab('predict', join(root, 'run'), join(root, 'imgs'), '--format', 'xml').catch(
      (e) => e,
    );
    expect(err.stderr).toContain('--format: "xml" is not one of table, csv, jsonl');
  });
});
