import { mkdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type Logger, type ProgressHook, silentLogger } from '../../core/logger.js';
import { getBackbone, type WeightFile } from '../../core/models/registry.js';
import { type Checksum, downloadFile, hashFile, sizeOf } from '../net/download.js';

/** Where downloaded weights live: `$LESIONLAB_CACHE/weights`, else `~/.cache/lesionlab/weights`. */
export function defaultWeightsCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const root =
    env['LESIONLAB_CACHE'] ?? join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'lesionlab');
  return join(root, 'weights');
}

/** Options of {@link ensureBackboneWeights}. */
export interface EnsureWeightsOptions {
  /** Default: {@link defaultWeightsCacheDir}. */
  readonly cacheDir?: string;
  /** Replaces the directory part of the official URL (mirrors, tests). */
  readonly baseUrl?: string;
  readonly logger?: Logger;
  readonly onProgress?: ProgressHook;
  readonly connectTimeoutMs?: number;
}

function urlOf(file: WeightFile, baseUrl?: string): string {
  return baseUrl === undefined ? file.url : `${baseUrl.replace(/\/+$/, '')}/${file.fileName}`;
}

function checksumOf(file: WeightFile): Checksum | undefined {
  return file.hash && file.hashAlgorithm ? { type: file.hashAlgorithm, value: file.hash } : undefined;
}

/** True when `path` exists and passes the file's checksum (Keras gives none for some files: then presence is enough). */
async function isIntact(path: string, file: WeightFile): Promise<boolean> {
  if ((await sizeOf(path)) === null) return false;
  const checksum = checksumOf(file);
  return !checksum || (await hashFile(path, checksum.type)) === checksum.value;
}

/**
 * The path of a backbone's official ImageNet weight file when it is already in the cache and passes its
 * checksum (Keras gives none for some files: then its presence is enough); null otherwise. No network.
 */
export async function cachedBackboneWeights(
  name: string,
  options: Pick<EnsureWeightsOptions, 'cacheDir'> = {},
): Promise<string | null> {
  const file = getBackbone(name).weights.official;
  const dest = join(options.cacheDir ?? defaultWeightsCacheDir(), file.fileName);
  return (await isIntact(dest, file)) ? dest : null;
}

/**
 * The path of a backbone's official ImageNet weight file in the cache, downloading it first (resumable,
 * checksum-checked, atomic: src/node/net/download.ts) when it is absent or fails its checksum. Throws
 * E_DOWNLOAD (offline, HTTP error) or E_CHECKSUM; callers may catch these and continue with random weights.
 */
export async function ensureBackboneWeights(
  name: string,
  options: EnsureWeightsOptions = {},
): Promise<string> {
  const file = getBackbone(name).weights.official;
  const dir = options.cacheDir ?? defaultWeightsCacheDir();
  const dest = join(dir, file.fileName);
  const logger = options.logger ?? silentLogger;
  if (await isIntact(dest, file)) return dest;
  if ((await sizeOf(dest)) !== null) {
    logger.warn(`${dest}: checksum mismatch, downloading it again`);
    await rm(dest, { force: true });
  }
  await mkdir(dir, { recursive: true });
  return downloadFile(urlOf(file, options.baseUrl), dest, {
    checksum: checksumOf(file),
    connectTimeoutMs: options.connectTimeoutMs,
    fix: `check the network, or place the file at ${dest} by hand`,
    label: 'download',
    logger,
    onProgress: options.onProgress,
  });
}
