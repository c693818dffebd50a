import { access, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { fetchCommand } from '../../src/cli/fetch.js';
import { inspectCommand } from '../../src/cli/inspect.js';
import { splitCommand } from '../../src/cli/split.js';
import { parseSplitFile } from '../../src/core/data/split-schema.js';
import { at } from '../../src/core/util/at.js';
import { runAndCapture } from '../support/run-command.js';

const SAMPLE = join(import.meta.dirname, '..', '..', 'data', 'sample', 'ham10000');
const dir = await mkdtemp(join(tmpdir(), 'lesionlab-cli-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
});

const run = runAndCapture;
const SAMPLE_CSV = await readFile(join(SAMPLE, 'HAM10000_metadata.csv'), 'utf8');
let copies = 0;

/** A copy of the embedded sample (image folders symlinked) with `csv` written as `name`. */
async function sampleWith(csv: string | undefined, name = 'HAM10000_metadata.csv'): Promise<string> {
  const root = join(dir, `copy-${copies++}`);
  await mkdir(root);
  for (const part of ['HAM10000_images_part_1', 'HAM10000_images_part_2'])
    await symlink(join(SAMPLE, part), join(root, part), 'dir');
  if (csv !== undefined) await writeFile(join(root, name), csv);
  return root;
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );
const dropColumn = (csv: string, index: number) =>
  csv
    .split('\n')
    .map((l) =>
      l
        .split(',')
        .filter((_, i) => i !== index)
        .join(','),
    )
    .join('\n');

describe('lesionlab inspect', () => {
  it('prints class and lesion counts of the embedded sample', async () => {
    const out = await run(inspectCommand, [SAMPLE]);
    expect(out).toContain('144 images, 91 lesions/groups');
    expect(out).toMatch(/bcc\s+23\s+11/);
    expect(out).toContain('images per lesion: 1×53  2×25  3×11  4×2');
    expect(out).toContain('issues: none');
  });

  it('prints JSON with --json and fails on a missing root with a LesionlabError', async () => {
    const json = JSON.parse(await run(inspectCommand, [SAMPLE, '--json', '--no-check-images']));
    expect(json.images).toBe(144);
    expect(json.issueList).toEqual([]);
    await expect(run(inspectCommand, [join(dir, 'none')])).rejects.toMatchObject({ code: 'E_MISSING_FILE' });
  });
});

describe('lesionlab inspect --decode: truncated images (issue #11 item 11)', () => {
  it('finds a truncated JPEG that the header check passes', async () => {
    const root = join(dir, 'truncated');
    await mkdir(join(root, 'HAM10000_images_part_1'), { recursive: true });
    const rows = SAMPLE_CSV.trim().split('\n');
    const first = at(at(rows, 1).split(','), 1);
    const second = at(at(rows, 2).split(','), 1);
    const jpeg = await readFile(join(SAMPLE, 'HAM10000_images_part_1', `${first}.jpg`)).catch(() =>
      readFile(join(SAMPLE, 'HAM10000_images_part_2', `${first}.jpg`)),
    );
    const other = await readFile(join(SAMPLE, 'HAM10000_images_part_1', `${second}.jpg`)).catch(() =>
      readFile(join(SAMPLE, 'HAM10000_images_part_2', `${second}.jpg`)),
    );
    await writeFile(join(root, 'HAM10000_images_part_1', `${first}.jpg`), jpeg.subarray(0, jpeg.length >> 1));
    await writeFile(join(root, 'HAM10000_images_part_1', `${second}.jpg`), other);
    await writeFile(join(root, 'HAM10000_metadata.csv'), `${rows.slice(0, 3).join('\n')}\n`);
    expect(await run(inspectCommand, [root])).toContain('issues: none');
    const out = await run(inspectCommand, [root, '--decode']);
    expect(out).toMatch(new RegExp(`${first}\\.jpg.*cannot decode`));
    expect(out).not.toContain(`${second}.jpg`);
  });
});

describe('lesionlab inspect: a broken HAM10000 metadata file (issue #11 item 3)', () => {
  it.each([
    ['dx removed', dropColumn(SAMPLE_CSV, 2), /metadata column "dx" for/],
    ['no header', SAMPLE_CSV.slice(SAMPLE_CSV.indexOf('\n') + 1), /is data, not the header/],
    ['0 bytes', '', /the file is empty/],
  ])('%s: fails naming the file and the missing column, never "folder-per-class"', async (_, csv, why) => {
    const root = await sampleWith(csv);
    const error = await run(inspectCommand, [root, '--no-check-images']).catch((e) => e);
    expect(error).toMatchObject({ code: 'E_MISSING_COLUMN' });
    expect(error.message).toMatch(
      /^expected the HAM10000 metadata columns? .*for HAM10000_metadata.csv but received/,
    );
    expect(error.message).toMatch(why);
    expect(error.message).toContain('restore the header line lesion_id,image_id,dx,');
    await expect(run(splitCommand, [root, '--out', join(root, 's.json')])).rejects.toMatchObject({
      code: 'E_MISSING_COLUMN',
    });
    expect(await exists(join(root, 's.json'))).toBe(false);
  });
});

describe('lesionlab inspect/split: lesion grouping (issue #11 item 4)', () => {
  it('groups lesion,image,diagnosis by "lesion" and records it in the split file', async () => {
    const root = await sampleWith(
      SAMPLE_CSV.replace(/^lesion_id,image_id,dx,/, 'lesion,image,diagnosis,'),
      'l.csv',
    );
    expect(await run(inspectCommand, [root, '--no-check-images'])).toContain('144 images, 91 lesions/groups');
    const out = join(root, 's.json');
    await run(splitCommand, [root, '--out', out, '--no-check-images']);
    const file = parseSplitFile(await readFile(out, 'utf8'), 's.json');
    expect(file.dataset.grouping).toEqual({ by: 'column', column: 'lesion' });
  });

  it('without a group column: inspect says so, split refuses unless --group-by image, which is recorded', async () => {
    const root = await sampleWith(
      dropColumn(SAMPLE_CSV, 0).replace(/^image_id,dx,/, 'image,diagnosis,'),
      'l.csv',
    );
    const text = await run(inspectCommand, [root, '--no-check-images']);
    expect(text).toContain('144 images, 144 lesions/groups');
    expect(text).toMatch(
      /groups: NONE, one per image \(l.csv has no group \(lesion\) column; looked for lesion_id, lesion,/,
    );
    const out = join(root, 's.json');
    await expect(run(splitCommand, [root, '--out', out, '--no-check-images'])).rejects.toThrow(
      /no lesion grouping: .*confirm image-level grouping with --group-by image/,
    );
    expect(await exists(out)).toBe(false);
    await run(splitCommand, [root, '--out', out, '--no-check-images', '--group-by', 'image']);
    const file = parseSplitFile(await readFile(out, 'utf8'), 's.json');
    expect(file.dataset.grouping).toEqual({ by: 'image', confirmed: true });
    await expect(
      run(splitCommand, [SAMPLE, '--out', out, '--no-check-images', '--group-by', 'image']),
    ).rejects.toThrow(/groups images by its "lesion_id" column.*drop --group-by image/);
  });
});

describe('lesionlab split: nothing to split (issue #11 item 10)', () => {
  it('fails naming the dataset and why, writing nothing, for a header-only CSV and an all-bad dataset', async () => {
    const headerOnly = await sampleWith(SAMPLE_CSV.slice(0, SAMPLE_CSV.indexOf('\n') + 1));
    const out = join(headerOnly, 's.json');
    const error = await run(splitCommand, [headerOnly, '--out', out]).catch((e) => e);
    expect(error).toMatchObject({ code: 'E_DATA_INVALID' });
    expect(error.message).toBe(
      `expected usable images to split for ${headerOnly} but received none (the metadata table has no data rows; no row names any of its 144 image files); ` +
        `fix the data (\`lesionlab inspect ${headerOnly}\` lists the problems) and split again`,
    );
    expect(await exists(out)).toBe(false);
    const allBad = await sampleWith(SAMPLE_CSV.replace(/,(nv|mel|bkl|bcc|akiec|vasc|df),/g, ',cat,'));
    await expect(run(splitCommand, [allBad, '--out', out, '--folds', '3'])).rejects.toThrow(
      /^expected usable images to split for .* but received none \(every row was skipped: 144 unknown-label\)/,
    );
    expect(await exists(out)).toBe(false);
  });
});

describe('lesionlab split', () => {
  it('writes a hold-out split file that parses and covers the sample', async () => {
    const out = join(dir, 'split.json');
    const text = await run(splitCommand, [SAMPLE, '--out', out, '--seed', '7', '--no-check-images']);
    expect(text).toMatch(/^train\s+/m);
    const file = parseSplitFile(await readFile(out, 'utf8'), 'split.json');
    expect(file.kind).toBe('holdout');
    expect(file.dataset.grouping).toEqual({ by: 'column', column: 'lesion_id' });
    expect(file.seed).toBe(7);
    if (file.kind === 'holdout')
      expect(file.parts.train.length + file.parts.val.length + file.parts.test.length).toBe(144);
  });

  it('writes k folds with --folds and rejects bad ratios', async () => {
    const out = join(dir, 'folds.json');
    await run(splitCommand, [SAMPLE, '--out', out, '--folds', '3', '--no-check-images']);
    const file = parseSplitFile(await readFile(out, 'utf8'), 'folds.json');
    expect(file.kind === 'kfold' && file.foldTest.length).toBe(3);
    await expect(run(splitCommand, [SAMPLE, '--out', out, '--val', 'abc'])).rejects.toThrow(
      'expected a number from 0 to 0.9 for --val but received "abc"; e.g. --val 0.15',
    );
    await expect(
      run(splitCommand, [SAMPLE, '--out', out, '--val', '0.6', '--test', '0.5', '--no-check-images']),
    ).rejects.toMatchObject({ code: 'E_SPLIT' });
  });
});

describe('lesionlab fetch', () => {
  it('rejects a bad --base-url and an unknown dataset before any download', async () => {
    await expect(run(fetchCommand, ['ham10000', '--dest', dir, '--base-url', 'not a url'])).rejects.toThrow(
      /^expected a URL for --base-url but received "not a url"; e\.g\. --base-url https?:\/\//,
    );
    await expect(
      run(fetchCommand, ['mnist', '--dest', dir, '--base-url', 'http://127.0.0.1:9']),
    ).rejects.toThrow(
      'expected one of ham10000 for the dataset to fetch but received "mnist"; e.g. lesionlab fetch ham10000 --dest DIR',
    );
  });
});
