import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describeWeights, type WeightsProvenance } from '../../core/bundle/meta.js';
import { labelIndices } from '../../core/data/class-index.js';
import type { ImageRecord } from '../../core/data/records.js';
import { expected, type LesionlabError } from '../../core/errors.js';
import type { ComparedModel } from '../../core/eval/compare.js';
import { type PredictionTable, parsePredictionsCsv } from '../../core/eval/predictions.js';
import type { ReportData } from '../../core/eval/report-data.js';
import { countMacs } from '../../core/onnx/macs.js';
import { at } from '../../core/util/at.js';
import { readModelBundle } from '../bundle/read.js';
import { loadLayersModelFromDir } from '../bundle/tfjs-files.js';
import { createClassifier } from '../infer/classifier.js';
import { type RunStatus, readRunStatus } from '../train/run-dir.js';

/**
 * Reads an evaluation folder written by `evaluateModel` (`report.json` + `predictions.csv`) as one model of
 * a comparison; cost figures (parameters, GMACs, speed, training time) are passed in by the caller. The
 * weights label comes from the provenance the report recorded (`unknown` when it recorded none).
 */
export async function loadEvaluatedModel(
  evalDir: string,
  extra: Partial<
    Pick<ComparedModel, 'name' | 'weights' | 'parameters' | 'gmacs' | 'imagesPerSecond' | 'trainSeconds'>
  > = {},
): Promise<ComparedModel> {
  const reportPath = join(evalDir, 'report.json');
  const text = await readFile(reportPath, 'utf8').catch(async () => {
    throw await missingReport(evalDir, reportPath);
  });
  const report = JSON.parse(text) as ReportData;
  const [headline] = report.variants;
  if (headline === undefined) {
    throw expected({
      what: 'at least one evaluated variant',
      where: reportPath,
      received: 'none',
      fix: 'run `lesionlab evaluate` on the run again',
      code: 'E_RUN',
    });
  }
  const predictionsPath = join(evalDir, 'predictions.csv');
  const table = parsePredictionsCsv(await readFile(predictionsPath, 'utf8'), predictionsPath);
  const metrics = headline.metrics;
  return {
    name: extra.name ?? report.model.name,
    backbone: report.model.backbone,
    weights: extra.weights ?? describeWeights(report.model.weights),
    metrics,
    imageIds: table.images,
    ...(table.groups ? { groupIds: table.groups } : {}),
    labels: Array.from(predictionLabels(table, metrics.classes, predictionsPath)),
    probabilities: table.probabilities,
    parameters: extra.parameters ?? null,
    gmacs: extra.gmacs ?? null,
    imagesPerSecond: extra.imagesPerSecond ?? null,
    trainSeconds: extra.trainSeconds ?? null,
    source: evalDir,
    ...(report.data.datasetImages === undefined ? {} : { datasetImages: report.data.datasetImages }),
  };
}

/**
 * The class index of each row's label by training's rule (`labelIndices`: exact, else ignoring case), so a file
 * written with the dataset's spelling (older evaluations) pairs with the model's classes; an unknown label is
 * one `E_UNKNOWN_LABEL` naming the file.
 */
function predictionLabels(table: PredictionTable, classes: readonly string[], source: string): Int32Array {
  const records = table.images.map((imageId, i) => ({
    imageId,
    label: at(table.labels, i),
    groupId: imageId,
    path: source,
  }));
  return labelIndices(records, classes, `re-create ${source} with \`lesionlab evaluate\``);
}

/**
 * Why an evaluation folder has no `report.json`, in one line: the training run it belongs to (the folder
 * itself or its parent) failed, was interrupted or is still running, as its `status.json` says; a finished
 * run passed instead of its evaluation; or no evaluation was made.
 */
async function missingReport(evalDir: string, reportPath: string): Promise<LesionlabError> {
  const wanted = { what: 'an evaluation folder (with report.json)', where: evalDir } as const;
  for (const runDir of [evalDir, dirname(evalDir)]) {
    const status = await readRunStatus(runDir);
    if (status === null) continue;
    const unfinished = unfinishedRun(runDir, status);
    if (unfinished !== null) return expected({ ...wanted, ...unfinished, code: 'E_RUN' });
    const evaluate = `\`lesionlab evaluate ${runDir}\``;
    return expected({
      ...wanted,
      ...(runDir === evalDir
        ? {
            received: 'a finished training run',
            fix: `run ${evaluate} and pass ${join(runDir, 'eval-test')}`,
          }
        : {
            received: `nothing at ${reportPath}: the run finished but this evaluation was not made`,
            fix: `run ${evaluate}`,
          }),
      code: 'E_MISSING_FILE',
    });
  }
  return expected({
    ...wanted,
    received: `nothing at ${reportPath} (not found)`,
    fix: 'run `lesionlab evaluate` on the run first',
    code: 'E_MISSING_FILE',
  });
}

/** What a run whose status.json says it did not complete left instead of an evaluation, and the fix; null when it completed. */
function unfinishedRun(runDir: string, status: RunStatus): { received: string; fix: string } | null {
  const resume = `\`lesionlab train --resume ${runDir}\``;
  if (status.state === 'failed')
    return {
      received: `training run ${runDir}, which failed (${status.error?.message ?? 'see its train.log'}), so there is nothing to compare`,
      fix: `fix the cause and run ${resume}, or leave it out`,
    };
  if (status.state === 'interrupted')
    return {
      received: `training run ${runDir}, which was interrupted and has no evaluation`,
      fix: `continue it with ${resume}, then run \`lesionlab evaluate ${runDir}\``,
    };
  if (status.state === 'running')
    return {
      received: `training run ${runDir}, which has not finished (status.json says running${status.pid ? `, pid ${status.pid}` : ''}; or it was killed)`,
      fix: `wait for it, or continue it with ${resume}, then evaluate it`,
    };
  return null;
}

/** The weights provenance an evaluation folder's `report.json` recorded (null: none recorded). */
export async function recordedWeights(evalDir: string): Promise<WeightsProvenance | null> {
  const text = await readFile(join(evalDir, 'report.json'), 'utf8');
  return (JSON.parse(text) as ReportData).model.weights ?? null;
}

/** Parameter count and GMACs per image of a bundle's TF.js model; nulls when the bundle has no TF.js copy. */
export async function modelCost(
  bundleDir: string,
): Promise<{ parameters: number | null; gmacs: number | null }> {
  const { meta, dir } = await readModelBundle(bundleDir);
  if (!meta.tfjs) return { parameters: null, gmacs: null };
  const model = await loadLayersModelFromDir(dirname(join(dir, meta.tfjs.file)));
  try {
    return { parameters: model.countParams(), gmacs: countMacs(model) / 1e9 };
  } finally {
    model.dispose();
  }
}

/**
 * Inference throughput of a bundle with ONNX Runtime (decoding excluded): the median of `repeats` timed
 * passes over up to `images` decoded test images, after one warm-up pass.
 */
export async function measureThroughput(
  bundleDir: string,
  records: readonly ImageRecord[],
  options: { images?: number; batchSize?: number; repeats?: number; threads?: number } = {},
): Promise<number | null> {
  const picked = records.slice(0, options.images ?? 64);
  if (picked.length === 0) return null;
  const classifier = await createClassifier(bundleDir, { threads: options.threads });
  try {
    const pixels = await Promise.all(picked.map((r) => classifier.decode(r.path)));
    const size = at(pixels, 0).length;
    const batchSize = options.batchSize ?? 16;
    const pass = async () => {
      for (let i = 0; i < pixels.length; i += batchSize) {
        const chunk = pixels.slice(i, i + batchSize);
        const batch = new Uint8Array(chunk.length * size);
        chunk.forEach((p, j) => {
          batch.set(p, j * size);
        });
        await classifier.classifyPixels(batch, chunk.length);
      }
    };
    await pass();
    const rates: number[] = [];
    for (let r = 0; r < (options.repeats ?? 3); r++) {
      const start = performance.now();
      await pass();
      rates.push(pixels.length / ((performance.now() - start) / 1000));
    }
    rates.sort((a, b) => a - b);
    return at(rates, Math.floor(rates.length / 2));
  } finally {
    await classifier.dispose();
  }
}
