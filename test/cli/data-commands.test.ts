import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { fetchCommand } from '../../src/cli/fetch.js';
import { inspectCommand } from '../../src/cli/inspect.js';
import { splitCommand } from '../../src/cli/split.js';
import { parseSplitFile } from '../../src/core/data/split-schema.js';
import { runAndCapture } from './run-command.js';

const SAMPLE = join(import.meta.dirname, '..', '..', 'data', 'sample', 'ham10000');
const dir = await mkdtemp(join(tmpdir(), 'lesionlab-cli-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
});

const run = runAndCapture;

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

describe('lesionlab split', () => {
  it('writes a hold-out split file that parses and covers the sample', async () => {
    const out = join(dir, 'split.json');
    const text = await run(splitCommand, [SAMPLE, '--out', out, '--seed', '7', '--no-check-images']);
    expect(text).toMatch(/^train\s+/m);
    const file = parseSplitFile(await readFile(out, 'utf8'), 'split.json');
    expect(file.kind).toBe('holdout');
    expect(file.seed).toBe(7);
    if (file.kind === 'holdout')
      expect(file.parts.train.length + file.parts.val.length + file.parts.test.length).toBe(144);
  });

  it('writes k folds with --folds and rejects bad ratios', async () => {
    const out = join(dir, 'folds.json');
    await run(splitCommand, [SAMPLE, '--out', out, '--folds', '3', '--no-check-images']);
    const file = parseSplitFile(await readFile(out, 'utf8'), 'folds.json');
    expect(file.kind === 'kfold' && file.foldTest.length).toBe(3);
    await expect(run(splitCommand, [SAMPLE, '--out', out, '--val', 'abc'])).rejects.toThrow(/split: --val/);
    await expect(
      run(splitCommand, [SAMPLE, '--out', out, '--val', '0.6', '--test', '0.5', '--no-check-images']),
    ).rejects.toMatchObject({ code: 'E_SPLIT' });
  });
});

describe('lesionlab fetch', () => {
  it('rejects a bad --base-url and an unknown dataset before any download', async () => {
    await expect(run(fetchCommand, ['ham10000', '--dest', dir, '--base-url', 'not a url'])).rejects.toThrow(
      /fetch: baseUrl: /,
    );
    await expect(
      run(fetchCommand, ['mnist', '--dest', dir, '--base-url', 'http://127.0.0.1:9']),
    ).rejects.toThrow('fetch: unknown dataset "mnist"; available: ham10000');
  });
});
