import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEvaluatedModel } from '../../../src/node/compare/load.js';
import { syntheticModel, writeEvaluationFolder } from '../../support/synthetic-model.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lesionlab-compare-load-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const labels = [0, 1, 2, 0, 1, 2];
const model = syntheticModel('alpha', labels, (i) => i % 2 === 0);

describe('loadEvaluatedModel', () => {
  it("maps each label to the model's class by training's rule, whatever its case", async () => {
    // older evaluations wrote the dataset's spelling (here A, B, C against the classes a, b, c)
    const dir = await writeEvaluationFolder(join(root, 'upper'), model, (l) => 'abc'.charAt(l).toUpperCase());
    expect((await loadEvaluatedModel(dir)).labels).toEqual(labels);
  });

  it('refuses a label that names no class, naming the file', async () => {
    const dir = await writeEvaluationFolder(join(root, 'unknown'), model, (l) => (l === 0 ? 'a' : 'zz'));
    await expect(loadEvaluatedModel(dir)).rejects.toMatchObject({
      code: 'E_UNKNOWN_LABEL',
      message: expect.stringContaining(join(dir, 'predictions.csv')),
    });
  });
});
