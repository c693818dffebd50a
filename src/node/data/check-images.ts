import { open } from 'node:fs/promises';
import type { ProgressHook } from '../../core/logger.js';
import { at } from '../../core/util/at.js';

type SharpModule = typeof import('sharp');
let sharpModule: Promise<SharpModule> | undefined;

/** Options of {@link checkImageFiles}. */
export interface CheckImagesOptions {
  /** Files checked at once (default 16). */
  readonly concurrency?: number;
  /** Decode every image in full (finds truncated files that a header parse passes); default false. */
  readonly decode?: boolean;
  readonly onProgress?: ProgressHook;
}

const JPEG = [0xff, 0xd8, 0xff];
const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Validity check of image files: JPEG/PNG magic bytes, then sharp's header parse, or with `decode` a full
 * decode that fails on truncated or corrupt data as training's decoder would. Returns path → reason for
 * every file that fails; an empty map means all passed.
 */
export async function checkImageFiles(
  paths: readonly string[],
  options: CheckImagesOptions = {},
): Promise<Map<string, string>> {
  const bad = new Map<string, string>();
  let done = 0;
  await forEachLimit(paths, options.concurrency ?? 16, async (path) => {
    const reason = await checkImageFile(path, options.decode === true);
    if (reason !== undefined) bad.set(path, reason);
    done++;
    if (done % 256 === 0 || done === paths.length) options.onProgress?.(done, paths.length, 'check images');
  });
  return bad;
}

/** Checks one file (its header, or with `decode` all of it); returns why it is not a readable JPEG/PNG. */
export async function checkImageFile(path: string, decode = false): Promise<string | undefined> {
  const head = Buffer.alloc(8);
  try {
    const handle = await open(path, 'r');
    try {
      await handle.read(head, 0, 8, 0);
    } finally {
      await handle.close();
    }
  } catch (error) {
    return `cannot read: ${(error as Error).message}`;
  }
  const starts = (magic: number[]) => magic.every((b, i) => head[i] === b);
  if (!starts(JPEG) && !starts(PNG))
    return `not a JPEG or PNG (first bytes ${head.subarray(0, 4).toString('hex')})`;
  try {
    sharpModule ??= import('sharp').then((m) => m.default as unknown as SharpModule);
    const sharp = await sharpModule;
    const meta = await sharp(path).metadata();
    if (!meta.width || !meta.height) return 'image header has no size';
  } catch (error) {
    return `corrupt image header: ${(error as Error).message}`;
  }
  if (!decode) return undefined;
  try {
    await (await sharpModule)(path, { failOn: 'truncated' }).raw().toBuffer();
  } catch (error) {
    return `cannot decode: ${(error as Error).message.trim()}`;
  }
  return undefined;
}

/** Runs `task` on every item with at most `limit` running at once. */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(at(items, next++));
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
