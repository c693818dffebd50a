import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, open, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { expected, LesionlabError, shown } from '../../core/errors.js';
import { type Logger, type ProgressHook, silentLogger } from '../../core/logger.js';
import { processAlive } from '../write-atomic.js';

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
 * (a server that ignores Range restarts it; one that answers 416 is trusted only when its total size, or
 * `options.size`, equals the part's: otherwise the download restarts), retrying dropped connections and 5xx
 * replies, then verifies the checksum: on mismatch the file is deleted and `E_CHECKSUM` thrown. Returns whether
 * a checksum was verified (false when none was given or its algorithm is unknown). The caller moves the
 * finished file into place. One download of a part file at a time, across processes: see {@link lockPart}.
 */
export async function downloadResumable(
  url: string,
  partPath: string,
  options: DownloadOptions = {},
): Promise<boolean> {
  const lock = await lockPart(partPath, url, options);
  try {
    return await fetchPart(url, partPath, options);
  } finally {
    await lock.release();
  }
}

/**
 * Downloads `url` to `dest` atomically: resumes from `dest.part` (see {@link downloadResumable}), checks the
 * checksum when given, then renames the part file to `dest`. Returns `dest`. When another process held the
 * part's lock and left a `dest` that matches the checksum, that file is kept (no second download).
 */
export async function downloadFile(
  url: string,
  dest: string,
  options: DownloadOptions = {},
): Promise<string> {
  const part = `${dest}.part`;
  const lock = await lockPart(part, url, options);
  try {
    if (lock.waited && options.checksum && (await matchesChecksum(dest, options.checksum))) return dest;
    await fetchPart(url, part, options);
    await rename(part, dest);
    return dest;
  } finally {
    await lock.release();
  }
}

async function fetchPart(url: string, partPath: string, options: DownloadOptions): Promise<boolean> {
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

async function matchesChecksum(path: string, checksum: Checksum): Promise<boolean> {
  if (!algorithmOf(checksum.type) || (await sizeOf(path)) === null) return false;
  return (await hashFile(path, checksum.type)).toLowerCase() === checksum.value.toLowerCase();
}

async function downloadOnce(url: string, partPath: string, options: DownloadOptions): Promise<void> {
  let offset = (await sizeOf(partPath)) ?? 0;
  let response = await request(url, offset, options);
  if (response.status === 416 && offset > 0) {
    // "Range Not Satisfiable": complete only when the file is exactly as long as the part
    const total = totalOf416(response) ?? options.size;
    await response.body?.cancel().catch(() => undefined);
    if (total === offset) return;
    const size = total === undefined ? 'the total size is unknown' : `the file has ${total} bytes`;
    (options.logger ?? silentLogger).warn(
      `${partPath}: the server cannot resume at ${offset} bytes (${size}); downloading it again from the start`,
    );
    offset = 0;
    response = await request(url, offset, options);
  }
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

/** The complete length a 416 reply states (`Content-Range: bytes *\/N`), if it states one. */
function totalOf416(response: Response): number | undefined {
  const match = /^bytes \*\/(\d+)$/i.exec(response.headers.get('content-range')?.trim() ?? '');
  return match ? Number(match[1]) : undefined;
}

/** How often a waiting download looks at a lock, and how often the holder refreshes its lock file's mtime. */
const LOCK_POLL_MS = 250;
const LOCK_HEARTBEAT_MS = 5_000;
/** A lock whose holder cannot be checked (another host) is stale once its mtime is this old. */
const LOCK_STALE_MS = 60_000;

/** What a lock file holds: who downloads the part, and a token that tells this lock from a later one. */
interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
}

/** A held part lock: `waited` when another download held it first. */
interface PartLock {
  readonly waited: boolean;
  release(): Promise<void>;
}

/**
 * Takes `partPath.lock` (created exclusively; it names this process's pid and host) so that two processes
 * (or two calls in one) never append to the same part file; waits while another live download holds it. A
 * lock is stale when its process is gone (same host) or, from another host, when its holder stopped
 * refreshing its mtime for {@link LOCK_STALE_MS}; a stale lock is moved aside and taken over.
 */
async function lockPart(partPath: string, url: string, options: DownloadOptions): Promise<PartLock> {
  const lockPath = `${partPath}.lock`;
  const host = hostname();
  let waited = false;
  for (;;) {
    const owner: LockOwner = { pid: process.pid, host, token: randomBytes(8).toString('hex') };
    if (await createLock(lockPath, owner)) {
      const heartbeat = setInterval(() => {
        const now = new Date();
        utimes(lockPath, now, now).catch(() => undefined);
      }, LOCK_HEARTBEAT_MS);
      heartbeat.unref();
      return {
        waited,
        release: async () => {
          clearInterval(heartbeat);
          if ((await readLock(lockPath))?.owner?.token === owner.token) await rm(lockPath, { force: true });
        },
      };
    }
    const held = await readLock(lockPath);
    if (!held) continue; // released in between
    if (isStale(held, host)) {
      await breakLock(lockPath, held.owner?.token);
      continue;
    }
    if (!waited) {
      const who = held.owner ? `process ${held.owner.pid} on ${held.owner.host}` : 'another process';
      (options.logger ?? silentLogger).info(
        `waiting for ${who}, which is downloading ${url} into ${partPath} (lock ${lockPath})`,
      );
    }
    waited = true;
    await sleep(LOCK_POLL_MS);
  }
}

/** Creates the lock file if there is none; false when one exists. */
async function createLock(lockPath: string, owner: LockOwner): Promise<boolean> {
  let file: Awaited<ReturnType<typeof open>>;
  try {
    file = await open(lockPath, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await file.writeFile(JSON.stringify(owner));
  } finally {
    await file.close();
  }
  return true;
}

/** The lock file's owner (undefined while it is being written or when unreadable) and mtime; null when absent. */
async function readLock(lockPath: string): Promise<{ owner?: LockOwner; mtimeMs: number } | null> {
  const [text, info] = await Promise.all([
    readFile(lockPath, 'utf8').catch(() => null),
    stat(lockPath).catch(() => null),
  ]);
  if (text === null || info === null) return null;
  try {
    const owner = JSON.parse(text) as LockOwner;
    const valid = typeof owner.pid === 'number' && typeof owner.token === 'string';
    return valid ? { owner, mtimeMs: info.mtimeMs } : { mtimeMs: info.mtimeMs };
  } catch {
    return { mtimeMs: info.mtimeMs };
  }
}

/**
 * A lock nobody refreshes: its process is gone on this host and it missed three heartbeats (the pid alone could
 * belong to another pid namespace, e.g. containers that share a host name and a cache folder), or it has not
 * been refreshed for {@link LOCK_STALE_MS}.
 */
function isStale(held: { owner?: LockOwner; mtimeMs: number }, host: string): boolean {
  const idle = Date.now() - held.mtimeMs;
  if (held.owner?.host === host && !processAlive(held.owner.pid) && idle > 3 * LOCK_HEARTBEAT_MS) return true;
  return idle > LOCK_STALE_MS;
}

/**
 * Moves a stale lock aside (rename is atomic, so of several waiters only one takes it) and deletes it. Should
 * the lock moved be a fresh one another waiter made in between (its token is not the stale one's), it is put
 * back (a hard link, which fails rather than replace a newer lock).
 */
async function breakLock(lockPath: string, staleToken: string | undefined): Promise<void> {
  const aside = `${lockPath}.stale-${randomBytes(4).toString('hex')}`;
  try {
    await rename(lockPath, aside);
  } catch {
    return; // gone already
  }
  const moved = await readLock(aside);
  if (moved?.owner?.token !== staleToken) await link(aside, lockPath).catch(() => undefined);
  await rm(aside, { force: true });
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
