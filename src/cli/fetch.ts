import { defineCommand } from 'citty';
import { z } from 'zod';
import { LesionlabError } from '../core/errors.js';
import type { ProgressHook } from '../core/logger.js';
import { DEFAULT_DATAVERSE, fetchDataset } from '../node/data/fetch-dataset.js';
import { consoleLogger } from './console-logger.js';

const FetchArgs = z.object({ retries: z.coerce.number().int().min(0).max(100), baseUrl: z.url() }).strict();

/** `lesionlab fetch ham10000 --dest DIR`: download, verify and unpack HAM10000 from the Harvard Dataverse. */
export const fetchCommand = defineCommand({
  meta: {
    name: 'fetch',
    description: 'Download a public dataset (ham10000) from Dataverse, resumable and verified',
  },
  args: {
    dataset: { type: 'positional', required: true, description: 'Dataset to download: ham10000' },
    dest: { type: 'string', required: true, description: 'Folder to put it in' },
    'base-url': { type: 'string', default: DEFAULT_DATAVERSE, description: 'Dataverse server' },
    retries: { type: 'string', default: '3', description: 'Resume attempts after a dropped connection' },
    'keep-archives': { type: 'boolean', default: false, description: 'Keep the zips after unpacking' },
  },
  async run({ args }) {
    const parsed = FetchArgs.safeParse({ retries: args.retries, baseUrl: args['base-url'] });
    if (!parsed.success) {
      throw new LesionlabError(
        'E_CONFIG',
        `fetch: ${parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join('; ')}`,
      );
    }
    const result = await fetchDataset(args.dataset, {
      dest: args.dest,
      baseUrl: parsed.data.baseUrl,
      retries: parsed.data.retries,
      keepArchives: args['keep-archives'],
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
