import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defineCommand } from 'citty';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/run-cli.js';
import { runLesionlab } from '../support/cli.js';

const dir = await mkdtemp(join(tmpdir(), 'run-cli-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = 0;
});

async function captureStderr(run: () => Promise<void>): Promise<string> {
  let err = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
  await run();
  return err;
}

describe('runCli: errors become one line', () => {
  it('prints an untranslated system error as one line with exit code 2, no stack', async () => {
    const fail = defineCommand({
      meta: { name: 'x' },
      run: () => {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      },
    });
    const err = await captureStderr(() => runCli(fail, []));
    expect(err).toBe('lesionlab: ENOSPC: no space left on device, write [ENOSPC]\n');
    expect(process.exitCode).toBe(2);
  });

  it('prints a bug with its stack only and exit code 1', async () => {
    const bug = defineCommand({
      meta: { name: 'x' },
      run: () => {
        throw new TypeError('boom');
      },
    });
    const err = await captureStderr(() => runCli(bug, []));
    expect(err).toMatch(/^lesionlab: internal error \(a bug; please report it\):\nTypeError: boom\n {4}at /);
    expect(process.exitCode).toBe(1);
  });
});

describe('a usage error citty reports, through the CLI', () => {
  it("prints the sub-command's usage on stderr, without colours when stderr is not a terminal", async () => {
    // citty colours unless NO_COLOR, TERM=dumb, TEST or CI is set (vitest sets TEST): run without them
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !['NO_COLOR', 'TERM', 'TEST', 'CI', 'VITEST'].includes(k)),
    );
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      const args = ['bin/lesionlab.js', 'inspect', 'data/sample/ham10000', '--format', 'bogus'];
      const child = execFile(process.execPath, args, { env }, (_, stdout, stderr) =>
        done({ code: child.exitCode, stdout, stderr }),
      );
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toContain('\u001b[');
    expect(r.stderr).toContain('USAGE lesionlab inspect [OPTIONS] <ROOT>');
    expect(r.stderr).not.toContain('augment-preview');
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(
      'lesionlab: Invalid value for argument: --format (bogus). Expected one of: auto, ham10000, folder, csv, isic.',
    );
  });
});

describe('a full disk or unwritable output through the CLI', () => {
  it('split on a full disk: one E_WRITE line naming the file, exit 2, no temp file left', async () => {
    const out = join(dir, 'DISKFULL-split.json');
    const preload = resolve('test/support/disk-full.preload.mjs');
    const r = await runLesionlab(['split', 'data/sample/ham10000', '--out', out], ['--import', preload]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `lesionlab: expected a writable path for ${out} but received a failed write (disk full, ENOSPC); free some space or write to another disk [E_WRITE]\n`,
    );
    expect((await readdir(dir)).filter((name) => name.includes('DISKFULL'))).toEqual([]);
  });

  it('train on a full disk: one E_WRITE line, exit 2, no half-made run folder', async () => {
    const runs = join(dir, 'DISKFULL-runs');
    const preload = resolve('test/support/disk-full.preload.mjs');
    const r = await runLesionlab(
      ['train', '--data', 'data/sample/ham10000', '--weights', 'random', '--runs-dir', runs, '--name', 'r1'],
      ['--import', preload],
    );
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(
      `lesionlab: expected a writable path for ${join(runs, 'r1', 'config.json')} but received a failed write (disk full, ENOSPC); free some space or write to another disk [E_WRITE]`,
    );
    expect(await readdir(runs)).toEqual([]);
  });

  it('export into a path whose parent is a file: one line, exit 2', async () => {
    const file = join(dir, 'plain-file');
    await writeFile(file, 'x');
    const { makeSampleRun } = await import('../support/sample-run.js');
    const run = await makeSampleRun(join(dir, 'run'));
    const out = join(file, 'bundle');
    const r = await runLesionlab(['export', run, '--out', out]);
    expect(r.code).toBe(2);
    // TF.js prints its banner first; the error is the last line
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(
      `lesionlab: expected a writable path for ${out} but received a failed write (a part of the path is a file, not a folder, ENOTDIR); check the path [E_WRITE]`,
    );
  });
});
