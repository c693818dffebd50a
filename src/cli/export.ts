import { resolve } from 'node:path';
import { defineCommand } from 'citty';
import { LesionlabError } from '../core/errors.js';
import { EXPORT_FORMATS, type ExportFormat, exportModelBundle } from '../node/bundle/index.js';
import { consoleLogger } from './console-logger.js';

/** `lesionlab export <run> --format onnx|tfjs --out DIR`: a self-describing model bundle. */
export const exportCommand = defineCommand({
  meta: { name: 'export', description: 'Export a run (or bundle) as a self-describing model bundle' },
  args: {
    run: { type: 'positional', description: 'training run folder or model bundle folder', required: true },
    format: { type: 'string', description: 'onnx | tfjs (tfjs also keeps model.onnx)', default: 'onnx' },
    out: { type: 'string', description: 'output folder (replaced atomically)', required: true },
  },
  async run({ args }) {
    if (!(EXPORT_FORMATS as readonly string[]).includes(args.format)) {
      throw new LesionlabError(
        'E_CONFIG',
        `--format: "${args.format}" is not one of ${EXPORT_FORMATS.join(', ')}`,
      );
    }
    const out = resolve(args.out);
    const meta = await exportModelBundle(args.run, out, args.format as ExportFormat);
    const parts = [meta.onnx.file, ...(meta.tfjs ? [meta.tfjs.file] : []), 'bundle.json'];
    consoleLogger.info(
      `exported ${meta.name} (${meta.classes.length} classes, ${meta.preprocess.width}x${meta.preprocess.height}) to ${out}: ${parts.join(', ')}`,
    );
  },
});
