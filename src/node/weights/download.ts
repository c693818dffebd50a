import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { LesionlabError } from '../../core/errors.js';
import { type Logger, type ProgressHook, silentLogger } from '../../core/logger.js';
import { getBackbone, type WeightFile } from '../../core/models/registry.js';

/** Where downloaded weights live: `$LESIONLAB_CACHE/weights`, else `~/.cache/lesionlab/weights`. */
export function defaultWeightsCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const root =
    env['LESIONLAB_CACHE'] ?? join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'lesionlab');
  return join(root, 'weights');
}

/** Hex digest of a file (streamed). */
export async function hashFile(path: string, algorithm: 'md5' | 'sha256'): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function sizeOf(path: string): Promise<number | null> {
  return stat(path).then(
    (s) => s.size,
    () => null,
  );
}

/** Options of {@link downloadFile}. */
export interface DownloadOptions {
  readonly hash?: string | null;
  readonly hashAlgorithm?: 'md5' | 'sha256' | null;
  readonly logger?: Logger;
  readonly onProgress?: ProgressHook;
  /** Give up when no response headers arrive within this time (ms); default 30 s. */
  readonly connectTimeoutMs?: number;
}

function downloadError(url: string, dest: string, why: string, cause?: unknown): LesionlabError {
  return new LesionlabError(
    'E_DOWNLOAD',
    `could not download ${url} (${why}); check the network, or place the file at ${dest} by hand`,
    { cause },
  );
}

async function request(url: string, from: number, timeoutMs: number, dest: string): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const headers: Record<string, string> = from > 0 ? { range: `bytes=${from}-` } : {};
    const res = await fetch(url, { headers, signal: controller.signal });
    if (!res.ok && res.status !== 416) throw downloadError(url, dest, `HTTP ${res.status} ${res.statusText}`);
    return res;
  } catch (error) {
    if (error instanceof LesionlabError) throw error;
    const cause =
      error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    throw downloadError(
      url,
      dest,
      controller.signal.aborted ? `no answer within ${timeoutMs} ms` : cause,
      error,
    );
  } finally {
    clearTimeout(timer);
  }
}

async function streamTo(
  res: Response,
  part: string,
  append: boolean,
  total: number | null,
  o: DownloadOptions,
): Promise<void> {
  const file = await open(part, append ? 'a' : 'w');
  let done = append ? ((await sizeOf(part)) ?? 0) : 0;
  try {
    if (res.body === null) return;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      await file.write(chunk);
      done += chunk.byteLength;
      o.onProgress?.(done, total ?? done, 'download');
    }
  } finally {
    await file.close();
  }
}

async function verify(path: string, o: DownloadOptions, url: string): Promise<void> {
  if (!o.hash || !o.hashAlgorithm) return;
  const actual = await hashFile(path, o.hashAlgorithm);
  if (actual !== o.hash.toLowerCase()) {
    await rm(path, { force: true });
    throw new LesionlabError(
      'E_CHECKSUM',
      `${url}: ${o.hashAlgorithm} is ${actual}, expected ${o.hash}; the partial download was deleted, try again`,
    );
  }
}

/**
 * Downloads `url` to `dest`: resumes from `dest.part` with a Range request when one exists, checks the
 * hash (when given), then renames atomically. Network failures are one E_DOWNLOAD error.
 */
export async function downloadFile(url: string, dest: string, o: DownloadOptions = {}): Promise<string> {
  const part = `${dest}.part`;
  const have = (await sizeOf(part)) ?? 0;
  const res = await request(url, have, o.connectTimeoutMs ?? 30_000, dest);
  const resumed = res.status === 206;
  const length = Number(res.headers.get('content-length') ?? Number.NaN);
  const total = Number.isFinite(length) ? length + (resumed ? have : 0) : null;
  (o.logger ?? silentLogger).info(`downloading ${url}${resumed ? ` (resuming at ${have} bytes)` : ''}`);
  if (res.status !== 416) {
    try {
      await streamTo(res, part, resumed, total, o);
    } catch (error) {
      throw downloadError(url, dest, `transfer broke off; run again to resume from ${part}`, error);
    }
  }
  await verify(part, o, url);
  await rename(part, dest);
  return dest;
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
  if ((await sizeOf(dest)) === null) return null;
  const ok = !file.hash || !file.hashAlgorithm || (await hashFile(dest, file.hashAlgorithm)) === file.hash;
  return ok ? dest : null;
}

/**
 * The path of a backbone's official ImageNet weight file in the cache, downloading it first when it is
 * absent or fails its checksum. Throws E_DOWNLOAD (offline, HTTP error) or E_CHECKSUM; callers may
 * catch these and continue with random weights.
 */
export async function ensureBackboneWeights(
  name: string,
  options: EnsureWeightsOptions = {},
): Promise<string> {
  const file = getBackbone(name).weights.official;
  const dir = options.cacheDir ?? defaultWeightsCacheDir();
  const dest = join(dir, file.fileName);
  const logger = options.logger ?? silentLogger;
  const check = { hash: file.hash, hashAlgorithm: file.hashAlgorithm };
  if ((await sizeOf(dest)) !== null) {
    const ok = !file.hash || !file.hashAlgorithm || (await hashFile(dest, file.hashAlgorithm)) === file.hash;
    if (ok) return dest;
    logger.warn(`${dest}: checksum mismatch, downloading it again`);
    await rm(dest, { force: true });
  }
  await mkdir(dir, { recursive: true });
  return downloadFile(urlOf(file, options.baseUrl), dest, { ...check, ...options, logger });
}
