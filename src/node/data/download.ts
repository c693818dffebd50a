import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { LesionlabError } from '../../core/errors.js';
import type { ProgressHook } from '../../core/logger.js';

/** An expected checksum: algorithm as Dataverse names it (MD5, SHA-1, SHA-256, SHA-512) and hex value. */
export interface Checksum {
  readonly type: string;
  readonly value: string;
}

/** Options of {@link downloadResumable}. */
export interface DownloadOptions {
  /** Total size when known (for progress only). */
  readonly size?: number;
  readonly checksum?: Checksum;
  /** Extra attempts after a dropped connection, each resuming with a Range request (default 3). */
  readonly retries?: number;
  readonly onProgress?: ProgressHook;
  readonly fetch?: typeof fetch;
}

/**
 * Downloads `url` into `partPath`, resuming from whatever the file already holds with an HTTP Range request
 * (a server that ignores Range restarts it), retrying dropped connections, then verifies the checksum.
 * On mismatch the file is deleted and `E_CHECKSUM` thrown. Returns whether a checksum was verified (false when
 * none was given or its algorithm is unknown). The caller renames the finished file into place.
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
  return options.checksum ? verifyChecksum(partPath, options.checksum, url) : false;
}

async function downloadOnce(url: string, partPath: string, options: DownloadOptions): Promise<void> {
  const offset = (await stat(partPath).catch(() => undefined))?.size ?? 0;
  const headers: Record<string, string> = offset > 0 ? { Range: `bytes=${offset}-` } : {};
  const response = await (options.fetch ?? fetch)(url, { headers, redirect: 'follow' }).catch(
    (error: Error) => {
      throw new LesionlabError(
        'E_DOWNLOAD',
        `${url}: request failed (${error.message}); check the connection and run fetch again`,
        { cause: error },
      );
    },
  );
  if (response.status === 416 && offset > 0) return; // the part file is already complete
  if (!response.ok || !response.body) {
    const cause = response.status >= 500 ? response.status : undefined; // 5xx may pass; 4xx will not
    throw new LesionlabError(
      'E_DOWNLOAD',
      `${url}: HTTP ${response.status} ${response.statusText}; check --base-url and try again later`,
      { cause },
    );
  }
  const append = response.status === 206 && offset > 0;
  const total = options.size ?? (Number(response.headers.get('content-length')) || 0) + (append ? offset : 0);
  await writeBody(response.body, partPath, append ? offset : 0, total, url, options.onProgress);
}

const ALGORITHMS: Readonly<Record<string, string>> = {
  MD5: 'md5',
  'SHA-1': 'sha1',
  'SHA-256': 'sha256',
  'SHA-512': 'sha512',
};

/**
 * Hashes a file and throws `E_CHECKSUM` (after deleting it) when it does not match `expected`; returns false
 * without hashing when the algorithm is not one of MD5, SHA-1, SHA-256, SHA-512.
 */
export async function verifyChecksum(path: string, expected: Checksum, what: string): Promise<boolean> {
  const algorithm = ALGORITHMS[expected.type.toUpperCase()];
  if (!algorithm) return false;
  const hash = createHash(algorithm);
  await pipeline(createReadStream(path), hash);
  const actual = hash.digest('hex');
  if (actual.toLowerCase() === expected.value.toLowerCase()) return true;
  await rm(path, { force: true });
  throw new LesionlabError(
    'E_CHECKSUM',
    `${what}: ${expected.type} mismatch (expected ${expected.value}, got ${actual}); the damaged download was deleted, run fetch again`,
  );
}

/** Appends (or writes from byte 0) each received chunk as it arrives, so a dropped connection keeps every byte. */
async function writeBody(
  body: ReadableStream<Uint8Array>,
  partPath: string,
  start: number,
  total: number,
  url: string,
  onProgress: ProgressHook | undefined,
): Promise<void> {
  const file = await open(partPath, start > 0 ? 'a' : 'w');
  let done = start;
  try {
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      await file.write(chunk);
      done += chunk.length;
      onProgress?.(done, total, url);
    }
  } catch (error) {
    throw new LesionlabError(
      'E_DOWNLOAD',
      `${url}: connection dropped after ${done} bytes (${(error as Error).message}); run fetch again to resume`,
      { cause: error },
    );
  } finally {
    await file.close();
  }
}
