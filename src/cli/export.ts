import { resolve } from 'node:path';
import { EXPORT_FORMATS, exportModelBundle } from '../node/bundle/index.js';
import { consoleLogger } from './console-logger.js';
import { choiceFlag, defineFlags, flagCommand, positional, textFlag } from './flags/table.js';

const flags = defineFlags({
  run: positional('training run folder or model bundle folder'),
  format: choiceFlag(EXPORT_FORMATS, {
    description: `${EXPORT_FORMATS.join(' | ')} (tfjs also keeps model.onnx)`,
    default: 'onnx',
  }),
  out: textFlag({
    description:
      'output folder: new, empty, or an earlier bundle (replaced atomically); never the run or a folder holding it',
    required: true,
  }),
});

/** `lesionlab export <run> --format onnx|tfjs --out DIR`: a self-describing model bundle. */
export const exportCommand = flagCommand(flags, {
  meta: { name: 'export', description: 'Export a run (or bundle) as a self-describing model bundle' },
  async run(a) {
    const out = resolve(a.out);
    const meta = await exportModelBundle(a.run, out, a.format);
    const parts = [meta.onnx.file, ...(meta.tfjs ? [meta.tfjs.file] : []), 'bundle.json'];
    consoleLogger.info(
      `exported ${meta.name} (${meta.classes.length} classes, ${meta.preprocess.width}x${meta.preprocess.height}) to ${out}: ${parts.join(', ')}`,
    );
  },
});
