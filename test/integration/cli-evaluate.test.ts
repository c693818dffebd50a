import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLesionlab } from '../support/cli.js';
import { makeSampleRun } from '../support/sample-run.js';

let root: string;
let run: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lesionlab-evaluate-cli-'));
  run = await makeSampleRun(join(root, 'run'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('lesionlab evaluate (CLI)', () => {
  it("evaluates a run's test split and prints the headline with its interval and the report path", async () => {
    const out = join(root, 'out');
    const { code, stdout } = await runLesionlab([
      'evaluate',
      run,
      '--tta',
      'flips',
      '--resamples',
      '50',
      '--out',
      out,
      '--no-screenshot',
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Plain \(image only\)\s+balanced accuracy \d+\.\d% \(\d+\.\d-\d+\.\d\)/);
    expect(stdout).toMatch(/Views identity\+flip_h\+flip_v\+rot180\s+balanced accuracy/);
    expect(stdout).toContain(join(out, 'report.html'));
    expect(await readdir(out)).toContain('predictions.csv');
  });
  it('rejects a bad option value, naming the option, what it got and the allowed values', async () => {
    // exit code and one-line format belong to src/cli/main.ts (citty's runMain exits 1 itself)
    const error = await runLesionlab(['evaluate', run, '--split', 'train']);
    expect(error.code).toBe(2);
    expect(error.stderr).toContain(
      'lesionlab: expected one of test, val, all for --split but received "train"; e.g. --split test [E_CONFIG]',
    );
  });
});
