import { type ArgsDef, defineCommand } from 'citty';
import { formatSummary, summarizeDataset } from '../core/data/summary.js';
import { formatIssues } from '../core/data/validate.js';
import type { Logger } from '../core/logger.js';
import { loadDataset } from '../node/data/load-dataset.js';
import { consoleLogger } from './console-logger.js';

/** Dataset arguments shared by `inspect` and `split`. */
export const datasetArgs = {
  root: { type: 'positional', required: true, description: 'Dataset folder (or its metadata CSV)' },
  format: {
    type: 'enum',
    options: ['auto', 'ham10000', 'folder', 'csv', 'isic'],
    default: 'auto',
    description: 'Dataset layout',
  },
  metadata: { type: 'string', description: 'Metadata table, when not in the root folder' },
  images: { type: 'string', description: 'Folder to search for images (default: the root)' },
  'image-column': { type: 'string', description: 'Generic CSV: image column name' },
  'label-column': { type: 'string', description: 'Generic CSV: label column name' },
  'group-column': { type: 'string', description: 'Generic CSV: group (lesion) column name' },
  'check-images': {
    type: 'boolean',
    default: true,
    description: 'Check each image header (--no-check-images skips)',
  },
  decode: {
    type: 'boolean',
    default: false,
    description: 'Decode every image in full (finds truncated files a header check passes; slower)',
  },
  strict: {
    type: 'boolean',
    default: false,
    description: 'Fail on any data issue instead of skipping bad rows',
  },
} satisfies ArgsDef;

/** Turns parsed dataset arguments into `loadDataset` options. */
export function datasetOptions(args: Record<string, unknown>, logger: Logger) {
  const str = (key: string) => (typeof args[key] === 'string' ? (args[key] as string) : undefined);
  const columns = { image: str('image-column'), label: str('label-column'), group: str('group-column') };
  return {
    format: str('format') ?? 'auto',
    metadata: str('metadata'),
    images: str('images'),
    columns: Object.fromEntries(Object.entries(columns).filter(([, v]) => v !== undefined)),
    checkImages: args['check-images'] === false ? false : args.decode === true ? ('decode' as const) : true,
    strict: args.strict === true,
    logger,
  };
}

/** `lesionlab inspect <root>`: counts per class and lesion, images per lesion, and the data-issue report. */
export const inspectCommand = defineCommand({
  meta: { name: 'inspect', description: 'Validate a dataset and print class and lesion counts' },
  args: {
    ...datasetArgs,
    json: { type: 'boolean', default: false, description: 'Print the summary as JSON' },
  },
  async run({ args }) {
    const logger: Logger = args.json
      ? { ...consoleLogger, info: (m) => process.stderr.write(`${m}\n`) }
      : consoleLogger;
    const dataset = await loadDataset(args.root, datasetOptions(args, logger));
    const summary = summarizeDataset(dataset);
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ ...summary, issueList: dataset.issues }, null, 2)}\n`);
      return;
    }
    for (const line of formatSummary(summary)) consoleLogger.info(line);
    const issues = formatIssues(dataset.issues);
    consoleLogger.info(
      issues.length === 0 ? 'issues: none' : `issues (rows skipped):\n  ${issues.join('\n  ')}`,
    );
  },
});
