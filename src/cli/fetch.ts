import { z } from 'zod';
import type { ProgressHook } from '../core/logger.js';
import { DEFAULT_DATAVERSE, fetchDataset } from '../node/data/fetch-dataset.js';
import { consoleLogger } from './console-logger.js';
import { booleanFlag, defineFlags, flagCommand, intFlag, positional, textFlag } from './flags/table.js';

const flags = defineFlags({
  dataset: positional('Dataset to download: ham10000'),
  dest: textFlag({ required: true, description: 'Folder to put it in' }),
  'base-url': textFlag({ default: DEFAULT_DATAVERSE, description: 'Dataverse server', schema: z.url() }),
  retries: intFlag('Resume attempts after a dropped connection', { min: 0, max: 100, default: 3 }),
  'keep-archives': booleanFlag({ default: false, description: 'Keep the zips after unpacking' }),
});

/** `lesionlab fetch ham10000 --dest DIR`: download, verify and unpack HAM10000 from the Harvard Dataverse. */
export const fetchCommand = flagCommand(flags, {
  meta: {
    name: 'fetch',
    description: 'Download a public dataset (ham10000) from Dataverse, resumable and verified',
  },
  async run(a) {
    const result = await fetchDataset(a.dataset, {
      dest: a.dest,
      baseUrl: a['base-url'],
      retries: a.retries,
      keepArchives: a['keep-archives'],
      logger: consoleLogger,
      onProgress: progressPrinter(),
    });
    consoleLogger.info(`done: ${result.dest} (check it with \`lesionlab inspect ${result.dest}\`)`);
  },
});

/** Prints a download's progress to stderr about every 5%. */
function progressPrinter(): ProgressHook {
  let last = -1;
  return (done, total, label) => {
    const pct = total > 0 ? Math.floor((100 * done) / total / 5) * 5 : -1;
    if (pct === last || pct < 0) return;
    last = pct;
    process.stderr.write(`${label ?? ''} ${pct}% (${(done / 1e6).toFixed(1)} MB)\n`);
  };
}
