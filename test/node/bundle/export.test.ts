import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAM10000_CLASSES } from '../../../src/core/labels.js';
import { at } from '../../../src/core/util/at.js';
import { exportModelBundle } from '../../../src/node/bundle/export.js';
import { readModelBundle } from '../../../src/node/bundle/read.js';
import { createClassifier } from '../../../src/node/infer/classifier.js';
import { writeTinyBundle } from '../../support/tiny-model.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lesionlab-export-'));
  await writeTinyBundle(join(root, 'run', 'model'), { metrics: { balancedAccuracy: 0.3 } });
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function probs(dir: string): Promise<number[]> {
  const c = await createClassifier(dir, { threads: 1 });
  const px = Uint8Array.from({ length: 16 * 16 * 3 }, (_, i) => (i * 13) % 256);
  const row = at(await c.classifyPixels(px, 1), 0);
  await c.dispose();
  return Array.from(row);
}

describe('exportModelBundle', () => {
  it('exports a run as an ONNX bundle and a TF.js bundle that classify like the original', async () => {
    const original = await probs(join(root, 'run'));
    const onnxMeta = await exportModelBundle(join(root, 'run'), join(root, 'out-onnx'), 'onnx');
    expect((await readdir(join(root, 'out-onnx'))).sort()).toEqual(['bundle.json', 'model.onnx']);
    expect(onnxMeta.tfjs).toBeUndefined();
    expect(onnxMeta.metrics).toEqual({ balancedAccuracy: 0.3 });
    expect(onnxMeta.onnx.cam).toBe('cam');
    const tfjsMeta = await exportModelBundle(join(root, 'run'), join(root, 'out-tfjs'), 'tfjs');
    expect(tfjsMeta.tfjs).toEqual({ file: 'tfjs/model.json' });
    for (const dir of ['out-onnx', 'out-tfjs']) {
      const p = await probs(join(root, dir));
      p.forEach((v, i) => {
        expect(v).toBeCloseTo(at(original, i), 5);
      });
    }
    expect((await readModelBundle(join(root, 'out-tfjs'))).meta.classes).toEqual([...HAM10000_CLASSES]);
  });

  it('copies an ONNX-only bundle and refuses to make a TF.js bundle from it', async () => {
    const meta = await exportModelBundle(join(root, 'out-onnx'), join(root, 'again'), 'onnx');
    expect(meta.name).toBe('tiny');
    await expect(exportModelBundle(join(root, 'out-onnx'), join(root, 'nope'), 'tfjs')).rejects.toThrow(
      /^expected a bundle with a TF\.js model \(tfjs\/\) for --format tfjs but received .+, which has none; export it as --format onnx$/,
    );
  });

  describe('refuses an --out it would replace to the loss of other files', () => {
    /** A run folder with a bundle in model/ and the other things a run keeps. */
    async function makeRun(name: string): Promise<string> {
      const run = join(root, name);
      await writeTinyBundle(join(run, 'model'));
      await writeFile(join(run, 'report.json'), '{"precious":true}');
      await mkdir(join(run, 'checkpoints'));
      await writeFile(join(run, 'checkpoints', 'epoch-12.bin'), 'weights');
      return run;
    }
    const runFiles = ['checkpoints', 'model', 'report.json'];

    it('the run itself, its model/, a folder holding the run (also via a relative path or a link), or inside the bundle', async () => {
      const run = await makeRun('precious-run');
      const link = join(root, 'link-to-run');
      await symlink(run, link);
      const fix = `export replaces its output folder as a whole, so choose a new one, e.g. --out ${run}-bundle`;
      const cases: [string, string, string][] = [
        [run, run, 'the exported folder itself'],
        [run, join(run, 'model'), 'the exported folder itself'],
        [run, link, 'the exported folder itself'],
        [run, relative(process.cwd(), run), 'the exported folder itself'],
        [run, root, 'a folder holding the exported one'],
        [join(run, 'model'), run, 'a folder holding the exported one'],
        [run, join(run, 'model', 'tfjs'), 'a folder inside the exported bundle'],
        [run, join(run, 'model', 'new'), 'a folder inside the exported bundle'],
      ];
      for (const [source, out, clash] of cases) {
        for (const format of ['onnx', 'tfjs'] as const) {
          const error = await exportModelBundle(source, out, format).catch((e: unknown) => e);
          const fixFor = source === run ? fix : fix.replace(`${run}-bundle`, `${join(run, 'model')}-bundle`);
          expect(error, `${source} -> ${out}`).toMatchObject({
            code: 'E_CONFIG',
            message: `expected a folder apart from the exported model for --out ${out} but received ${clash} (${source}); ${fixFor}`,
          });
        }
      }
      // a bundle onto itself as ONNX only would drop its TF.js model
      const model = join(run, 'model');
      await expect(exportModelBundle(model, model, 'onnx')).rejects.toMatchObject({
        code: 'E_CONFIG',
        message: expect.stringContaining('but received the exported folder itself'),
      });
      expect((await readdir(run)).sort()).toEqual(runFiles);
      expect(await readFile(join(run, 'checkpoints', 'epoch-12.bin'), 'utf8')).toBe('weights');
      expect((await readdir(join(run, 'model'))).sort()).toEqual(['bundle.json', 'model.onnx', 'tfjs']);
      await expect(readModelBundle(run)).resolves.toMatchObject({ meta: { name: 'tiny' } });
    });

    it('re-exports a bundle onto itself when nothing is dropped (its ONNX graph from its TF.js model)', async () => {
      const run = await makeRun('in-place-run');
      const model = join(run, 'model');
      const before = await probs(model);
      await exportModelBundle(model, model, 'tfjs');
      expect((await readdir(model)).sort()).toEqual(['bundle.json', 'model.onnx', 'tfjs']);
      expect((await readdir(run)).sort()).toEqual(runFiles);
      const after = await probs(model);
      after.forEach((p, i) => {
        expect(p).toBeCloseTo(at(before, i), 5);
      });
    });

    it('--out . from inside the runs folder', async () => {
      const run = await makeRun('cwd-run');
      const cwd = process.cwd();
      process.chdir(root);
      try {
        await expect(exportModelBundle('cwd-run', '.', 'onnx')).rejects.toMatchObject({
          code: 'E_CONFIG',
          message: expect.stringMatching(
            /^expected a folder apart from the exported model for --out \. but received a folder holding the exported one \(cwd-run\)/,
          ),
        });
      } finally {
        process.chdir(cwd);
      }
      expect((await readdir(run)).sort()).toEqual(runFiles);
    });

    it('a folder of other files, or a file; but replaces a new path, an empty folder or an earlier bundle', async () => {
      const run = await makeRun('source-run');
      const other = join(root, 'someone-elses');
      await mkdir(other);
      await writeFile(join(other, 'notes.txt'), 'keep me');
      await expect(exportModelBundle(run, other, 'onnx')).rejects.toMatchObject({
        code: 'E_CONFIG',
        message: `expected a new or empty folder, or an earlier model bundle for --out ${other} but received a folder that holds other files (notes.txt) and no bundle.json; export replaces its output folder as a whole, so choose a new or empty folder`,
      });
      // another run folder: its bundle is in model/, not at the top
      const otherRun = await makeRun('other-run');
      await expect(exportModelBundle(run, otherRun, 'tfjs')).rejects.toThrow(
        /holds other files \(checkpoints, model, report\.json\) and no bundle\.json/,
      );
      const file = join(root, 'a-file');
      await writeFile(file, 'data');
      await expect(exportModelBundle(run, file, 'onnx')).rejects.toThrow(
        `expected a new or empty folder, or an earlier model bundle for --out ${file} but received a file;`,
      );
      expect(await readFile(join(other, 'notes.txt'), 'utf8')).toBe('keep me');
      expect((await readdir(otherRun)).sort()).toEqual(runFiles);
      expect(await readFile(file, 'utf8')).toBe('data');

      const empty = join(root, 'empty');
      await mkdir(empty);
      await exportModelBundle(run, empty, 'onnx');
      expect((await readdir(empty)).sort()).toEqual(['bundle.json', 'model.onnx']);
      await exportModelBundle(run, empty, 'tfjs'); // an earlier bundle is replaced
      expect((await readdir(empty)).sort()).toEqual(['bundle.json', 'model.onnx', 'tfjs']);
      await exportModelBundle(run, join(run, 'exported'), 'onnx'); // beside the bundle, inside the run: fine
      expect((await readdir(run)).sort()).toEqual(['checkpoints', 'exported', 'model', 'report.json']);
    });
  });
});
