import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { expected, LesionlabError, shown } from '../../core/errors.js';
import { type Logger, type ProgressHook, silentLogger } from '../../core/logger.js';

/** An expected checksum: algorithm (MD5, SHA-1, SHA-256, SHA-512, any case, dash optional) and hex value. */
export interface Checksum {
  readonly type: string;
  readonly value: string;
}

/** Options of {@link downloadResumable} and {@link downloadFile}. */
export interface DownloadOptions {
  /** Total size when known (for progress only; default: the server's content-length). */
  readonly size?: number;
  readonly checksum?: Checksum;
  /** Extra attempts after a dropped connection or an HTTP 5xx, each resuming with a Range request (default 3). */
  readonly retries?: number;
  /** Give up on an attempt when no response headers arrive within this time (ms); default 30 s. */
  readonly connectTimeoutMs?: number;
  /** What the user can do when the download fails; ends the E_DOWNLOAD and E_CHECKSUM messages. */
  readonly fix?: string;
  /** Label of the progress events (default: the URL). */
  readonly label?: string;
  readonly logger?: Logger;
  readonly onProgress?: ProgressHook;
  readonly fetch?: typeof fetch;
}

const DEFAULT_FIX = 'check the connection and try again (the download resumes)';

/**
 * Downloads `url` into `partPath`, resuming from whatever the file already holds with an HTTP Range request
 * (a server that ignores Range restarts it), retrying dropped connections and 5xx replies, then verifies the
 * checksum: on mismatch the file is deleted and `E_CHECKSUM` thrown. Returns whether a checksum was verified
 * (false when none was given or its algorithm is unknown). The caller moves the finished file into place.
 */
export async function downloadResumable(
  url: string,
  partPath: string,
  options: DownloadOptions = {},
): Promise<boolean> {
  const retries = options.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    try {
      await downloadOnce(url, partPath, options);
      break;
    } catch (error) {
      const transient =
        error instanceof LesionlabError && error.code === 'E_DOWNLOAD' && error.cause !== undefined;
      if (attempt >= retries || !transient) throw error;
    }
  }
  return options.checksum ? verifyChecksum(partPath, options.checksum, url, options.fix) : false;
}

/**
 * Downloads `url` to `dest` atomically: resumes from `dest.part` (see {@link downloadResumable}), checks the
 * checksum when given, then renames the part file to `dest`. Returns `dest`.
 */
export async function downloadFile(
  url: string,
  dest: string,
  options: DownloadOptions = {},
): Promise<string> {
  await downloadResumable(url, `${dest}.part`, options);
  await rename(`${dest}.part`, dest);
  return dest;
}

async function downloadOnce(url: string, partPath: string, options: DownloadOptions): Promise<void> {
  const offset = (await sizeOf(partPath)) ?? 0;
  const response = await request(url, offset, options);
  if (response.status === 416 && offset > 0) return; // the part file is already complete
  if (!response.ok || !response.body) {
    const cause = response.status >= 500 ? response.status : undefined; // 5xx may pass; 4xx will not
    throw downloadError(url, `HTTP ${response.status} ${response.statusText}`, options.fix, cause);
  }
  const append = response.status === 206 && offset > 0;
  const length = Number(response.headers.get('content-length')) || 0;
  const total = options.size ?? length + (append ? offset : 0);
  (options.logger ?? silentLogger).info(
    `downloading ${url}${append ? ` (resuming at ${offset} bytes)` : ''}`,
  );
  await writeBody(response.body, partPath, append ? offset : 0, total, url, options);
}

/** One GET (with a Range header from `offset`), aborted when no headers arrive within the connect timeout. */
async function request(url: string, offset: number, options: DownloadOptions): Promise<Response> {
  const timeoutMs = options.connectTimeoutMs ?? 30_000;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const headers: Record<string, string> = offset > 0 ? { Range: `bytes=${offset}-` } : {};
    return await (options.fetch ?? fetch)(url, { headers, redirect: 'follow', signal: controller.signal });
  } catch (error) {
    const why = controller.signal.aborted
      ? `no answer within ${timeoutMs} ms`
      : `request failed: ${reasonOf(error)}`;
    throw downloadError(url, why, options.fix, error);
  } finally {
    clearTimeout(timer);
  }
}

/** Appends (or writes from byte 0) each received chunk as it arrives, so a dropped connection keeps every byte. */
async function writeBody(
  body: ReadableStream<Uint8Array>,
  partPath: string,
  start: number,
  total: number,
  url: string,
  options: DownloadOptions,
): Promise<void> {
  const file = await open(partPath, start > 0 ? 'a' : 'w');
  let done = start;
  try {
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      await file.write(chunk);
      done += chunk.length;
      options.onProgress?.(done, total || done, options.label ?? url);
    }
  } catch (error) {
    const why = `connection dropped after ${done} bytes: ${reasonOf(error)}`;
    throw downloadError(url, why, options.fix, error);
  } finally {
    await file.close();
  }
}

/** The one E_DOWNLOAD message; a `cause` marks the failure as transient (worth a retry). */
function downloadError(url: string, why: string, fix: string | undefined, cause?: unknown): LesionlabError {
  return expected({
    what: 'a complete download',
    where: url,
    received: why,
    fix: fix ?? DEFAULT_FIX,
    code: 'E_DOWNLOAD',
    cause,
  });
}

function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? error.cause.message : error.message;
}

const ALGORITHMS: Readonly<Record<string, string>> = {
  MD5: 'md5',
  SHA1: 'sha1',
  SHA256: 'sha256',
  SHA512: 'sha512',
};

/** The node:crypto name of a checksum type (`MD5`, `SHA-256`, `sha256`, …), or undefined when unknown. */
function algorithmOf(type: string): string | undefined {
  return ALGORITHMS[type.toUpperCase().replace('-', '')];
}

/** Hex digest of a file, streamed; `algorithm` as {@link Checksum} names it (`md5`, `SHA-256`, …). */
export async function hashFile(path: string, algorithm: string): Promise<string> {
  const name = algorithmOf(algorithm);
  if (!name) {
    throw expected({
      what: 'a hash algorithm MD5, SHA-1, SHA-256 or SHA-512',
      where: `the checksum of ${path}`,
      received: shown(algorithm),
      fix: 'use one of those',
      code: 'E_CHECKSUM',
    });
  }
  const hash = createHash(name);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Hashes a file and throws `E_CHECKSUM` (after deleting it) when it does not match `expected`; returns false
 * without hashing when the algorithm is not one of MD5, SHA-1, SHA-256, SHA-512.
 */
export async function verifyChecksum(
  path: string,
  checksum: Checksum,
  what: string,
  fix = DEFAULT_FIX,
): Promise<boolean> {
  if (!algorithmOf(checksum.type)) return false;
  const actual = await hashFile(path, checksum.type);
  if (actual.toLowerCase() === checksum.value.toLowerCase()) return true;
  await rm(path, { force: true });
  throw expected({
    what: `${checksum.type} ${checksum.value}`,
    where: what,
    received: `${actual} (the damaged download was deleted)`,
    fix,
    code: 'E_CHECKSUM',
  });
}

/** Size of a file in bytes, or null when there is none. */
export async function sizeOf(path: string): Promise<number | null> {
  return stat(path).then(
    (s) => s.size,
    () => null,
  );
}
