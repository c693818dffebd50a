import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSampleRun } from '../support/sample-run.js';

const exec = promisify(execFile);
let root: string;
let run: string;

function lesionlab(...args: string[]) {
  return exec(process.execPath, ['bin/lesionlab.js', ...args], { cwd: process.cwd(), maxBuffer: 1 << 24 });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lesionlab-evaluate-cli-'));
  run = await makeSampleRun(join(root, 'run'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('lesionlab evaluate (CLI)', () => {
  it("evaluates a run's test split and prints the headline with its interval and the report path", async () => {
    const out = join(root, 'out');
    const { stdout } = await lesionlab(
      'evaluate',
      run,
      '--tta',
      'flips',
      '--resamples',
      '50',
      '--out',
      out,
      '--no-screenshot',
    );
    expect(stdout).toMatch(/Plain \(image only\)\s+balanced accuracy \d+\.\d% \(\d+\.\d-\d+\.\d\)/);
    expect(stdout).toMatch(/Views identity\+flip_h\+flip_v\+rot180\s+balanced accuracy/);
    expect(stdout).toContain(join(out, 'report.html'));
    expect(await readdir(out)).toContain('predictions.csv');
  });
  it('rejects a bad option value, naming the option, what it got and the allowed values', async () => {
    // exit code and one-line format belong to src/cli/main.ts (citty's runMain exits 1 itself)
    const error = await lesionlab('evaluate', run, '--split', 'train').catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((error as { code: number }).code).toBeGreaterThan(0);
    expect((error as { stderr: string }).stderr).toContain(
      'lesionlab: expected one of test, val, all for --split but received "train"; e.g. --split test [E_CONFIG]',
    );
  });
});
