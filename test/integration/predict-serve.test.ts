import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAM10000_CLASSES } from '../../src/core/labels.js';
import { at } from '../../src/core/util/at.js';
import { createClassifier } from '../../src/node/infer/classifier.js';
import { writeSmallCnnBundle } from '../support/tiny-model.js';

const SAMPLE = join(process.cwd(), 'data/sample/ham10000/HAM10000_images_part_1');
let root: string;
let child: ChildProcess | undefined;
let url: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lesionlab-serve-'));
  await writeSmallCnnBundle(join(root, 'bundle'), 64, { metrics: { balancedAccuracy: 0.25 } });
  child = spawn(
    process.execPath,
    // Forward passes in two inference workers (lone images in the server thread's session, --solo by default):
    // the CLI starts them from the bin, and answers must not change.
    [
      'bin/lesionlab.js',
      'serve',
      join(root, 'bundle'),
      '--port',
      '0',
      '--token',
      'tok',
      '--inference-workers',
      '2',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stderr!.resume();
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child!.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /at (http:\/\/\S+)/.exec(out);
      if (m) resolve(at(m, 1));
    });
    child!.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
}, 120_000);

afterAll(async () => {
  child?.kill('SIGTERM');
  await rm(root, { recursive: true, force: true });
});

const auth = { authorization: 'Bearer tok' };

describe('lesionlab serve (CLI, loopback, embedded sample)', () => {
  it('answers concurrent predictions like the library, and 4xx for bad input, over real HTTP', async () => {
    const files = (await readdir(SAMPLE)).filter((f) => f.endsWith('.jpg')).slice(0, 6);
    const bodies = await Promise.all(files.map((f) => readFile(join(SAMPLE, f))));
    const answers = await Promise.all(
      bodies.map((b) =>
        fetch(`${url}/v1/predict`, {
          method: 'POST',
          body: new Uint8Array(b),
          headers: { 'content-type': 'image/jpeg', ...auth },
        }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(files.map(() => 200));
    const json = await Promise.all(answers.map((a) => a.json()));
    const classifier = await createClassifier(join(root, 'bundle'), { threads: 1 });
    const local = await classifier.classifyFiles(files.map((f) => join(SAMPLE, f)));
    await classifier.dispose();
    json.forEach((j, i) => {
      const l = at(local, i);
      if (!('probabilities' in l)) throw new Error(l.error);
      HAM10000_CLASSES.forEach((c, k) => {
        expect(j.probabilities[c]).toBeCloseTo(at(l.probabilities, k), 5);
      });
    });
    const bad = await fetch(`${url}/v1/predict`, {
      method: 'POST',
      body: 'nope',
      headers: { 'content-type': 'image/png', ...auth },
    });
    expect(bad.status).toBe(415);
    expect(
      (await fetch(`${url}/v1/predict`, { method: 'POST', body: new Uint8Array(at(bodies, 0)) })).status,
    ).toBe(401);
    const model = await (await fetch(`${url}/v1/model`, { headers: auth })).json();
    expect(model.metrics).toEqual({ balancedAccuracy: 0.25 });
    // a lone request on the idle server runs in the server thread's session (--solo), with the same answer
    const lone = await fetch(`${url}/v1/predict`, {
      method: 'POST',
      body: new Uint8Array(at(bodies, 0)),
      headers: { 'content-type': 'image/jpeg', ...auth },
    });
    const loneProbs = (await lone.json()).probabilities;
    for (const c of HAM10000_CLASSES) expect(loneProbs[c]).toBeCloseTo(at(json, 0).probabilities[c], 5);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const stats = (await health.json()) as { batches: number; soloBatches: number };
    expect(stats.soloBatches).toBeGreaterThanOrEqual(1);
    expect(stats.batches).toBeGreaterThan(stats.soloBatches);
  });
});
