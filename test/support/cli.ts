import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** The embedded HAM10000 sample's first image folder. */
export const SAMPLE_IMAGES = join(process.cwd(), 'data/sample/ham10000/HAM10000_images_part_1');

/** How a CLI run ended: its exit code (0 on success) and everything it printed. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `bin/lesionlab.js` with `args` in a child process (`nodeFlags`, e.g. a preload, go before the script);
 * resolves with the exit code and output whether the command succeeded or not.
 */
export async function runLesionlab(
  args: readonly string[],
  nodeFlags: readonly string[] = [],
): Promise<CliResult> {
  try {
    const out = await exec(process.execPath, [...nodeFlags, 'bin/lesionlab.js', ...args], {
      maxBuffer: 1 << 24,
    });
    return { code: 0, stdout: out.stdout, stderr: out.stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error; // the process did not run at all
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Copies the first `count` JPEGs of the embedded sample (sorted by name) into `dest`; returns their names. */
export async function copySampleImages(dest: string, count: number): Promise<string[]> {
  const names = (await readdir(SAMPLE_IMAGES))
    .filter((f) => f.endsWith('.jpg'))
    .sort()
    .slice(0, count);
  await mkdir(dest, { recursive: true });
  for (const name of names) await copyFile(join(SAMPLE_IMAGES, name), join(dest, name));
  return names;
}
