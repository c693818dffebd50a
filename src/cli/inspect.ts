import { formatSummary, summarizeDataset } from '../core/data/summary.js';
import { formatIssues } from '../core/data/validate.js';
import type { Logger } from '../core/logger.js';
import { loadDataset } from '../node/data/load-dataset.js';
import { consoleLogger } from './console-logger.js';
import { DATASET_FLAGS, datasetOptions } from './flags/dataset.js';
import { booleanFlag, defineFlags, flagCommand } from './flags/table.js';

const flags = defineFlags({
  ...DATASET_FLAGS,
  json: booleanFlag({ default: false, description: 'Print the summary as JSON' }),
});

/** `lesionlab inspect <root>`: counts per class and lesion, images per lesion, and the data-issue report. */
export const inspectCommand = flagCommand(flags, {
  meta: { name: 'inspect', description: 'Validate a dataset and print class and lesion counts' },
  async run({ root, json }, args) {
    const logger: Logger = json
      ? { ...consoleLogger, info: (m) => process.stderr.write(`${m}\n`) }
      : consoleLogger;
    const dataset = await loadDataset(root, datasetOptions(args, logger));
    const summary = summarizeDataset(dataset);
    if (json) {
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
