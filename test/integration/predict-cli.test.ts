import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAM10000_CLASSES } from '../../src/core/labels.js';
import { at } from '../../src/core/util/at.js';
import { collectPredictInputs } from '../../src/node/infer/inputs.js';
import { copySampleImages, runLesionlab, SAMPLE_IMAGES } from '../support/cli.js';
import { writeTinyBundle } from '../support/tiny-model.js';

const SAMPLE = join(process.cwd(), 'data/sample/ham10000');
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lesionlab-predict-'));
  await writeTinyBundle(join(root, 'run', 'model'));
  const images = await copySampleImages(join(root, 'imgs'), 5);
  await writeFile(join(root, 'imgs', 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0x00, 1, 2, 3]));
  const mixed = join(root, 'mixed');
  await mkdir(join(mixed, 'sub'), { recursive: true });
  await copyFile(join(SAMPLE_IMAGES, at(images, 0)), join(mixed, 'a.jpg'));
  const pixels = sharp(join(SAMPLE_IMAGES, at(images, 1))).resize(32, 24);
  await pixels.clone().gif().toFile(join(mixed, 'b.gif'));
  await pixels
    .clone()
    .tiff()
    .toFile(join(mixed, 'sub', 'c.TIFF'));
  await writeFile(join(mixed, 'd.bmp'), Buffer.from('BM fake bitmap'));
  await writeFile(join(mixed, 'e.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>');
  await symlink(join(mixed, 'gone.jpg'), join(mixed, 'f.jpg'));
  await writeFile(join(mixed, 'notes.txt'), 'not an image');
  await mkdir(join(root, 'bmps'));
  await writeFile(join(root, 'bmps', 'x.bmp'), Buffer.from('BM fake bitmap'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('lesionlab predict (CLI, embedded HAM10000 sample)', () => {
  it('classifies a folder from a run dir as JSON lines; the unreadable image gets an error row, a warning and exit 3', async () => {
    const { code, stdout, stderr } = await runLesionlab([
      'predict',
      join(root, 'run'),
      join(root, 'imgs'),
      '--format',
      'jsonl',
      '--batch-size',
      '2',
    ]);
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
    expect(code).toBe(3);
    expect(stderr).toMatch(
      /^warning: .*expected an image lesionlab can decode for \S+broken\.jpg but received a file it cannot decode/m,
    );
    expect(stderr).toContain(
      'warning: 1 of 6 input(s) could not be classified (1 undecodable, 0 skipped); exit status 3',
    );
  });

  it('lists every skipped file of a folder, classifies GIF and TIFF, and exits 3 (issue #11 item 13)', async () => {
    const mixed = join(root, 'mixed');
    const { code, stdout, stderr } = await runLesionlab([
      'predict',
      join(root, 'run'),
      mixed,
      '--format',
      'csv',
    ]);
    expect(code).toBe(3);
    const rows = stdout.trim().split('\n').slice(1);
    expect(rows.map((r) => at(r.split(','), 0).slice(mixed.length + 1))).toEqual([
      'a.jpg',
      'b.gif',
      'sub/c.TIFF',
    ]);
    expect(rows.every((r) => r.endsWith(','))).toBe(true);
    expect(stderr.trim().split('\n')).toEqual([
      `warning: skipped ${join(mixed, 'd.bmp')}: BMP is not supported; convert it to PNG`,
      `warning: skipped ${join(mixed, 'e.svg')}: vector image (SVG); rasterise it to PNG first`,
      `warning: skipped ${join(mixed, 'f.jpg')}: broken symbolic link (its target is missing)`,
      `warning: ignored 1 non-image file(s), e.g. ${join(mixed, 'notes.txt')}`,
      'warning: 3 of 6 input(s) could not be classified (0 undecodable, 3 skipped); exit status 3',
    ]);
    const help = await runLesionlab(['predict', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(
      /Exit status: 0 every input classified; 2 bad input .*; 3 some inputs could not be classified/,
    );
  });

  it('fails with one error line and exit 2 for a single undecodable image or a folder with nothing to classify', async () => {
    const single = await runLesionlab(['predict', join(root, 'run'), join(root, 'imgs', 'broken.jpg')]);
    expect(single.code).toBe(2);
    expect(single.stdout).toBe('');
    expect(single.stderr).toMatch(
      /^lesionlab: expected an image lesionlab can decode for \S+broken\.jpg but received a file it cannot decode \(.*\[E_BAD_IMAGE\]\n$/,
    );
    const none = await runLesionlab(['predict', join(root, 'run'), join(root, 'bmps')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(
      /^lesionlab: expected images to classify for \S+bmps but received none \(1 skipped, 0 other files\); pass images \(/m,
    );
    const link = await runLesionlab(['predict', join(root, 'run'), join(root, 'mixed', 'f.jpg')]);
    expect(link.stderr).toMatch(
      /for \S+f\.jpg but received a broken symbolic link \(its target is missing\); check the path.*\[E_MISSING_FILE\]\n$/,
    );
  });

  it('collectPredictInputs sorts a folder into images, skipped and ignored files', async () => {
    const mixed = join(root, 'mixed');
    const found = await collectPredictInputs(mixed);
    expect(found.paths).toEqual(['a.jpg', 'b.gif', 'sub/c.TIFF'].map((f) => join(mixed, f)));
    expect(found.skipped.map((s) => s.path)).toEqual(['d.bmp', 'e.svg', 'f.jpg'].map((f) => join(mixed, f)));
    expect(found.ignored).toEqual([join(mixed, 'notes.txt')]);
    expect(found.single).toBe(false);
    expect((await collectPredictInputs(join(mixed, 'd.bmp'))).single).toBe(true);
  });

  it('reads HAM10000_metadata.csv (image ids) and prints CSV with --top-k 1 and TTA', async () => {
    const { code, stdout } = await runLesionlab([
      'predict',
      join(root, 'run', 'model'),
      join(SAMPLE, 'HAM10000_metadata.csv'),
      '--format',
      'csv',
      '--top-k',
      '1',
      '--tta',
      'flips',
    ]);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    // every row says how it was scored: the views asked for, the density rule, whether metadata was used
    expect(lines[0]).toBe('path,label_1,prob_1,views,density,metadata,error');
    expect(lines).toHaveLength(145);
    expect(
      lines
        .slice(1)
        .every((l) =>
          /\.jpg,(akiec|bcc|bkl|df|mel|nv|vasc),0\.\d{6},identity\+flip_h\+flip_v\+rot180,(on|off),no,$/.test(
            l,
          ),
        ),
    ).toBe(true);
  });

  it('fails with one readable line for a bad option', async () => {
    const err = await runLesionlab(['predict', join(root, 'run'), join(root, 'imgs'), '--format', 'xml']);
    expect(err.code).toBe(2);
    expect(err.stderr).toContain(
      'expected one of table, csv, jsonl for --format but received "xml"; e.g. --format table [E_CONFIG]',
    );
  });
});
