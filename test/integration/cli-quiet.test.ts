import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), 'quiet-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const BANNER = 'looks like you are running TensorFlow.js in Node.js';

describe('quiet by default: no TensorFlow.js banner', () => {
  it('choosing a backend turns off TF.js console output (its PROD flag)', async () => {
    tf.env().set('PROD', false);
    await import('../../src/node/backend/backend.js');
    expect(tf.env().getBool('PROD')).toBe(true);
  });

  it('a command that uses TF.js without choosing a backend prints no banner (augment-preview)', async () => {
    const out = join(dir, 'grid.png');
    const r = await exec(process.execPath, [
      'bin/lesionlab.js',
      'augment-preview',
      'data/sample/ham10000',
      '--out',
      out,
    ]);
    expect(r.stdout).toContain(`wrote ${out}`);
    expect(r.stderr + r.stdout).not.toContain(BANNER);
  }, 60_000);
});
