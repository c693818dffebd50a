import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join, win32 } from 'node:path';
import { z } from 'zod';
import { expected, expectedOneOf, shown } from '../../core/errors.js';
import { type Logger, type ProgressHook, silentLogger } from '../../core/logger.js';
import { type Checksum, downloadResumable } from '../net/download.js';
import { unzipTo } from './unzip.js';

/** Datasets `fetch` knows: where they live on Dataverse and which files make the public layout. */
export const DOWNLOADABLE_DATASETS = {
  ham10000: {
    doi: 'doi:10.7910/DVN/DBW86T',
    files: ['HAM10000_images_part_1.zip', 'HAM10000_images_part_2.zip', 'HAM10000_metadata.tab'],
  },
} as const;

/** The Harvard Dataverse, where HAM10000 is published. */
export const DEFAULT_DATAVERSE = 'https://dataverse.harvard.edu';

/** Options of {@link fetchDataset}. */
export interface FetchDatasetOptions {
  readonly dest: string;
  readonly baseUrl?: string;
  readonly retries?: number;
  /** Keep downloaded zips after unpacking (default: delete them). */
  readonly keepArchives?: boolean;
  readonly logger?: Logger;
  readonly onProgress?: ProgressHook;
  readonly fetch?: typeof fetch;
}

/** What happened to each file of the dataset. */
export interface FetchResult {
  readonly dest: string;
  readonly files: readonly {
    readonly name: string;
    readonly target: string;
    readonly status: 'downloaded' | 'present';
  }[];
}

const DataFile = z.object({
  id: z.number(),
  filename: z.string(),
  filesize: z.number().optional(),
  md5: z.string().optional(),
  checksum: z.object({ type: z.string(), value: z.string() }).optional(),
  originalFileFormat: z.string().optional(),
  originalFileName: z.string().optional(),
  originalFileSize: z.number().optional(),
});
type DataFileInfo = z.infer<typeof DataFile>;
const Listing = z.object({
  data: z.object({ latestVersion: z.object({ files: z.array(z.object({ dataFile: DataFile })) }) }),
});

/**
 * Downloads a public dataset from Dataverse into `dest` in its published layout (zips unpacked into folders
 * named after them). Resumable and verified: see `downloadResumable`. Files already in place are skipped.
 */
export async function fetchDataset(name: string, options: FetchDatasetOptions): Promise<FetchResult> {
  const spec = DOWNLOADABLE_DATASETS[name as keyof typeof DOWNLOADABLE_DATASETS];
  if (!spec) {
    throw expectedOneOf(Object.keys(DOWNLOADABLE_DATASETS), {
      where: 'the dataset to fetch',
      received: name,
      fix: `e.g. lesionlab fetch ${Object.keys(DOWNLOADABLE_DATASETS)[0]} --dest DIR`,
      code: 'E_CONFIG',
    });
  }
  const { dest, logger = silentLogger } = options;
  const base = (options.baseUrl ?? DEFAULT_DATAVERSE).replace(/\/+$/, '');
  await mkdir(dest, { recursive: true });
  const listing = await fetchListing(base, spec.doi, options.fetch ?? fetch);
  // every local name is checked before anything is downloaded, so a bad listing leaves nothing behind
  const wanted = spec.files.map((name) => localFile(findFile(listing, name, spec.doi), base));
  const results: FetchResult['files'][number][] = [];
  for (const { file, name } of wanted) {
    results.push(await fetchOne(base, file, name, options));
    logger.info(`${file.filename}: ${results.at(-1)!.status} → ${results.at(-1)!.target}`);
  }
  return { dest, files: results };
}

async function fetchListing(base: string, doi: string, fetchImpl: typeof fetch): Promise<DataFileInfo[]> {
  const url = `${base}/api/datasets/:persistentId/?persistentId=${encodeURIComponent(doi)}`;
  const response = await fetchImpl(url).catch((error: Error) => {
    throw expected({
      what: 'an answer',
      where: url,
      received: `a failed request (${error.message})`,
      fix: 'check the connection or --base-url',
      code: 'E_DOWNLOAD',
      cause: error,
    });
  });
  if (!response.ok)
    throw expected({
      what: 'HTTP 200',
      where: url,
      received: `HTTP ${response.status}`,
      fix: `is ${base} a Dataverse server?`,
      code: 'E_DOWNLOAD',
    });
  const parsed = Listing.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success)
    throw expected({
      what: 'a Dataverse dataset listing',
      where: url,
      received: 'another reply',
      fix: 'check --base-url',
      code: 'E_DOWNLOAD',
    });
  return parsed.data.data.latestVersion.files.map((f) => f.dataFile);
}

function findFile(files: readonly DataFileInfo[], wanted: string, doi: string): DataFileInfo {
  const file = files.find((f) => f.filename === wanted);
  if (!file) {
    throw expected({
      what: `the file ${wanted}`,
      where: `the listing of ${doi}`,
      received: `the files ${files.map((f) => f.filename).join(', ')}`,
      fix: 'the dataset may have changed; report it',
      code: 'E_DOWNLOAD',
    });
  }
  return file;
}

/** True when the format of a listed file was converted by Dataverse (an uploaded table served as `.tab`). */
function isIngested(file: DataFileInfo): boolean {
  return file.originalFileFormat !== undefined && file.filename.endsWith('.tab');
}

/**
 * The name `file` gets in `dest`. It comes from the server (`originalFileName` of an ingested table), so it must
 * be one plain file name: no folder part (`/`, `\\`), not `.`, `..` or another dot name, no drive (`:`), no
 * control characters; a name like `../x.csv` would otherwise write outside `dest`.
 */
function localFile(file: DataFileInfo, base: string): { file: DataFileInfo; name: string } {
  // Dataverse converts uploaded tables to .tab; its checksum belongs to the original upload, so fetch that.
  const name = isIngested(file)
    ? (file.originalFileName ?? file.filename.replace(/\.tab$/, '.csv'))
    : file.filename;
  const plain =
    name !== '' &&
    !name.startsWith('.') &&
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
    !/[/\\:\u0000-\u001f\u007f]/.test(name) &&
    basename(name) === name &&
    win32.basename(name) === name;
  if (!plain) {
    throw expected({
      what: 'a plain file name (no folder, no leading dot)',
      where: `the name of ${file.filename} (file ${file.id}) in the listing from ${base}`,
      received: shown(name),
      fix: 'refusing to write outside --dest; check --base-url (is this server the real Dataverse?)',
      code: 'E_DOWNLOAD',
    });
  }
  return { file, name };
}

async function fetchOne(
  base: string,
  file: DataFileInfo,
  name: string,
  options: FetchDatasetOptions,
): Promise<FetchResult['files'][number]> {
  const ingested = isIngested(file);
  const isZip = name.toLowerCase().endsWith('.zip');
  const target = join(options.dest, isZip ? name.replace(/\.zip$/i, '') : name);
  if (await exists(target)) return { name: file.filename, target, status: 'present' };
  const url = `${base}/api/access/datafile/${file.id}${ingested ? '?format=original' : ''}`;
  const part = join(options.dest, `${name}.part`);
  const checksum: Checksum | undefined =
    file.checksum ?? (file.md5 ? { type: 'MD5', value: file.md5 } : undefined);
  const size = ingested ? file.originalFileSize : file.filesize;
  const verified = await downloadResumable(url, part, {
    checksum,
    size,
    retries: options.retries,
    fix: 'check the connection or --base-url and run fetch again (it resumes)',
    onProgress: options.onProgress,
    fetch: options.fetch,
  });
  if (!verified)
    options.logger?.warn(`${name}: no usable checksum in the listing; downloaded without verification`);
  if (!isZip) {
    await rename(part, target);
    return { name: file.filename, target, status: 'downloaded' };
  }
  const temp = `${target}.unpacking-${randomBytes(4).toString('hex')}`;
  try {
    const count = await unzipTo(part, temp);
    options.logger?.info(`${name}: unpacked ${count} files`);
    await rename(temp, target);
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  if (options.keepArchives) await rename(part, join(options.dest, name));
  else await rm(part, { force: true });
  return { name: file.filename, target, status: 'downloaded' };
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}
