import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { issueProblem } from '../../core/config/zod-issue.js';
import { expected } from '../../core/errors.js';
import { parseJsonText } from '../../core/json-text.js';
import type { Logger } from '../../core/logger.js';
import { type AssignReport, assignWeights, type SourceWeight } from '../../core/models/weight-assign.js';
import { at } from '../../core/util/at.js';

const ManifestSchema = z.array(
  z.object({
    paths: z.array(z.string().min(1)).min(1),
    weights: z.array(
      z.object({
        name: z.string().min(1),
        shape: z.array(z.number().int().nonnegative()),
        dtype: z.string(),
        quantization: z.unknown().optional(),
      }),
    ),
  }),
);
const ModelJsonSchema = z.object({ weightsManifest: ManifestSchema }).passthrough();

/** A weight listed in the manifest whose shard file is absent. */
export interface MissingWeight {
  readonly layer: string;
  readonly name: string;
  readonly file: string;
}

/** The weights of a TF.js layers-format folder: those whose shards exist and those that are missing. */
export interface TfjsLayersWeights {
  readonly modelJson: string;
  readonly present: readonly SourceWeight[];
  readonly missing: readonly MissingWeight[];
}

function splitName(full: string): { layer: string; name: string } {
  const cut = full.lastIndexOf('/');
  return { layer: full.slice(0, cut), name: full.slice(cut + 1) };
}

async function resolveModelJson(path: string): Promise<string> {
  const info = await stat(path).catch((cause: unknown) => {
    throw expected({
      what: 'a TF.js layers model folder or its model.json',
      where: path,
      received: 'nothing (not found)',
      fix: 'pass a TF.js layers model folder or its model.json',
      code: 'E_MISSING_FILE',
      cause,
    });
  });
  return info.isDirectory() ? join(path, 'model.json') : path;
}

async function readShards(dir: string, paths: readonly string[]): Promise<Uint8Array | null> {
  const parts: Buffer[] = [];
  for (const p of paths) {
    const bytes = await readFile(join(dir, p)).catch((e: NodeJS.ErrnoException) =>
      e.code === 'ENOENT' ? null : Promise.reject(e),
    );
    if (bytes === null) return null;
    parts.push(bytes);
  }
  return Buffer.concat(parts);
}

function parseManifest(text: string, file: string): z.infer<typeof ManifestSchema> {
  const json = parseJsonText(text, { where: file, fix: 'is this a TF.js model.json?', code: 'E_WEIGHTS' });
  const parsed = ModelJsonSchema.safeParse(json);
  if (!parsed.success) {
    const problem = issueProblem(at(parsed.error.issues, 0), json);
    throw expected({
      what: `a valid "weightsManifest" (${problem.what} at ${problem.key})`,
      where: file,
      received: problem.received,
      fix: 'is this a TF.js layers-format model.json?',
      code: 'E_WEIGHTS',
    });
  }
  return parsed.data.weightsManifest;
}

/** Reads a TF.js layers-format model's weights (float32 only), tolerating missing shard files. */
export async function readTfjsLayersWeights(path: string): Promise<TfjsLayersWeights> {
  const modelJson = await resolveModelJson(path);
  const manifest = parseManifest(await readFile(modelJson, 'utf8'), modelJson);
  const dir = dirname(modelJson);
  const present: SourceWeight[] = [];
  const missing: MissingWeight[] = [];
  for (const group of manifest) {
    const bytes = await readShards(dir, group.paths);
    let offset = 0;
    for (const w of group.weights) {
      if (w.dtype !== 'float32' || w.quantization !== undefined) {
        throw expected({
          what: `float32 weights (the only kind supported) for ${w.name}`,
          where: modelJson,
          received: `${w.dtype}${w.quantization ? ' (quantized)' : ''}`,
          fix: 'save the model without quantization',
          code: 'E_WEIGHTS',
        });
      }
      const size = w.shape.reduce((a, b) => a * b, 1);
      if (bytes === null) {
        missing.push({ ...splitName(w.name), file: group.paths.join('+') });
        continue;
      }
      if (offset + size * 4 > bytes.byteLength) {
        throw expected({
          what: `${offset + size * 4} bytes in the shard ${group.paths.join('+')} for ${w.name}`,
          where: modelJson,
          received: `${bytes.byteLength} (the shard is too short: the file is truncated)`,
          fix: 'copy or download the shard again',
          code: 'E_WEIGHTS',
        });
      }
      const data = new Float32Array(
        bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + size * 4),
      );
      present.push({ ...splitName(w.name), shape: w.shape, data });
      offset += size * 4;
    }
  }
  return { modelJson, present, missing };
}

/** Options of {@link loadTfjsLayersWeights}. */
export interface TfjsLoadOptions {
  /** Accept weights in the files that match no layer (needed for a truncated model). */
  readonly allowUnused?: boolean;
  readonly logger?: Logger;
}

/**
 * Loads TF.js layers-format weights (model.json + shards) into a registry backbone by layer name and
 * shape. If the model needs a weight whose shard is missing, throws E_WEIGHTS naming the file and
 * layer: build the backbone with `outputLayer` before that layer (see lastCompleteBlockBefore).
 */
export async function loadTfjsLayersWeights(
  model: tf.LayersModel,
  path: string,
  options: TfjsLoadOptions = {},
): Promise<AssignReport> {
  const { modelJson, present, missing } = await readTfjsLayersWeights(path);
  const needed = new Set(model.layers.map((l) => l.name));
  const m = missing.find((entry) => needed.has(entry.layer));
  if (m !== undefined) {
    throw expected({
      what: `the weight file ${m.file} (${m.layer}/${m.name}), as the model uses layer ${m.layer}`,
      where: modelJson,
      received: 'none (the file is missing)',
      fix: 'build the backbone with outputLayer before it, or restore the file',
      code: 'E_WEIGHTS',
    });
  }
  return assignWeights(model, present, {
    source: modelJson,
    match: 'name',
    allowUnused: options.allowUnused,
    logger: options.logger,
  });
}
