import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import {
  copyFile,
  cp,
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { expected } from '../../core/errors.js';
import { processAlive } from '../write-atomic.js';

/**
 * Building tfjs-node's binding offline against the libtensorflow inside PyPI's `tensorflow-cpu` wheel
 * (`npm run native:build`), and running tfjs-node's own online installer (`npm run native:install`).
 * The steps print nothing; scripts/native/*.ts report them.
 */

/** The wheel whose libtensorflow the binding is built against (Linux x86_64, any CPython tag). */
export const TF_WHEEL = { name: 'tensorflow-cpu', version: '2.21.0' } as const;

/** The wheel's shared libraries (`libtensorflow_cc` exports the whole C and eager C API). */
const WHEEL_LIBS = ['tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2'];
/** The header closure of tfjs-node's binding sources (found with `g++ -M`), under `tensorflow/include/`. */
const WHEEL_HEADER_DIRS = ['tensorflow/c/', 'tensorflow/core/platform/', 'tsl/platform/', 'xla/tsl/c/'];

/**
 * Names in `deps/lib` the binding and tfjs-node's installer look for, and what each points at: `-ltensorflow`
 * links `libtensorflow.so`; `scripts/install.js` skips its download only when `libtensorflow.so.2.9.1` exists.
 */
const LIB_ALIASES: Readonly<Record<string, string>> = {
  'libtensorflow.so': 'libtensorflow_cc.so.2',
  'libtensorflow.so.2.9.1': 'libtensorflow_cc.so.2',
  'libtensorflow_framework.so': 'libtensorflow_framework.so.2',
  'libtensorflow_framework.so.2.9.1': 'libtensorflow_framework.so.2',
};

/** Marker written last into an unpacked wheel folder: the wheel it came from. */
const UNPACKED_MARKER = '.unpacked.json';
/** Marker written next to a binding this module built: the wheel it links against. */
const BUILT_MARKER = 'lesionlab-native.json';

/** True for the wheel members the binding needs: two shared libraries and the C-API headers. */
export function isWheelMemberNeeded(name: string): boolean {
  if (WHEEL_LIBS.includes(name)) return true;
  const header = name.startsWith('tensorflow/include/') ? name.slice('tensorflow/include/'.length) : '';
  return header.endsWith('.h') && WHEEL_HEADER_DIRS.some((dir) => header.startsWith(dir));
}

/** The installed `@tensorflow/tfjs-node` package folder, resolved from `fromDir` (the repo root). */
export function findTfjsNode(fromDir: string): string {
  try {
    const require = createRequire(join(fromDir, 'package.json'));
    return dirname(require.resolve('@tensorflow/tfjs-node/package.json'));
  } catch {
    throw expected({
      what: '@tensorflow/tfjs-node installed',
      where: `${fromDir}/node_modules`,
      received: 'no such package',
      fix: 'run npm ci (it is an optionalDependency)',
      code: 'E_BACKEND',
    });
  }
}

/** The `lib/napi-vN/tfjs_binding.node` tfjs-node loads here: the highest N it ships that Node supports. */
export async function bindingPath(pkgDir: string): Promise<string> {
  const pkg = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as {
    binary: { napi_versions: number[] };
  };
  const napi = Math.max(...pkg.binary.napi_versions.filter((v) => v <= Number(process.versions.napi)));
  return join(pkgDir, 'lib', `napi-v${napi}`, 'tfjs_binding.node');
}

/** What {@link unpackWheel} did: `files` written (0 when the folder was already complete) and their bytes. */
export interface UnpackResult {
  readonly dir: string;
  readonly files: number;
  readonly bytes: number;
}

/** How {@link TF_WHEEL}'s file names begin (`tensorflow_cpu-2.21.0-`). */
const WHEEL_PREFIX = `${TF_WHEEL.name.replace('-', '_')}-${TF_WHEEL.version}-`;
/** The wheel file {@link TF_WHEEL} names, as error messages show it. */
const WHEEL_GLOB = `${WHEEL_PREFIX}*manylinux*x86_64.whl`;

/**
 * Removes the temp folders `<path>.tmp-<pid>` that interrupted runs left beside `path` (hundreds of MB each):
 * those whose process is gone, or every one but this process's own when `all` (`npm run native:build -- --force`).
 * Returns the folders removed.
 */
export async function removeStaleTemps(path: string, all = false): Promise<string[]> {
  const prefix = `${basename(path)}.tmp-`;
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const pid = name.startsWith(prefix) ? name.slice(prefix.length) : '';
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    if (!all && processAlive(Number(pid))) continue;
    await rm(join(dirname(path), name), { recursive: true, force: true });
    removed.push(join(dirname(path), name));
  }
  return removed;
}

/**
 * Builds `dest` in `<dest>.tmp-<pid>` (the name {@link removeStaleTemps} looks for) and renames it over `dest`
 * once `build` is done; on failure the temp folder is removed and `dest` left as it was.
 */
async function replaceFolder<T>(dest: string, build: (tmp: string) => Promise<T>): Promise<T> {
  const tmp = `${dest}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    const result = await build(tmp);
    await rm(dest, { recursive: true, force: true });
    await rename(tmp, dest);
    return result;
  } catch (error) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw error;
  }
}

/**
 * Unpacks the members {@link isWheelMemberNeeded} picks from `wheel` into `destDir` (`tensorflow/...` layout),
 * through a temp folder renamed into place, so an interrupted run never leaves a half folder (and temp folders
 * of runs that died are removed first). A folder already unpacked from the same wheel, with both libraries, is
 * kept (files: 0). A wheel that is not {@link TF_WHEEL} for Linux x86_64 (its `.dist-info` says another version
 * or platform, or it lacks either library) throws E_BACKEND and leaves nothing behind.
 */
export async function unpackWheel(wheel: string, destDir: string): Promise<UnpackResult> {
  await removeStaleTemps(destDir);
  const marker = await readFile(join(destDir, UNPACKED_MARKER), 'utf8').catch(() => '');
  if (
    marker &&
    (JSON.parse(marker) as { wheel: string }).wheel === basename(wheel) &&
    WHEEL_LIBS.every((lib) => existsSync(join(destDir, lib)))
  ) {
    return { dir: destDir, files: 0, bytes: 0 };
  }
  return replaceFolder(destDir, async (tmp) => {
    const { files, bytes, libs } = await extractNeeded(wheel, tmp);
    const missing = WHEEL_LIBS.filter((lib) => !libs.has(lib));
    if (missing.length) {
      throw wrongWheel(
        wheel,
        missing.length === WHEEL_LIBS.length
          ? 'a wheel without either of them'
          : `a wheel without ${missing.join(' and ')}`,
      );
    }
    await writeFile(
      join(tmp, UNPACKED_MARKER),
      `${JSON.stringify({ wheel: basename(wheel), files, bytes })}\n`,
    );
    return { dir: destDir, files, bytes };
  });
}

function wrongWheel(wheel: string, received: string): Error {
  return expected({
    what: `a ${WHEEL_GLOB} holding ${WHEEL_LIBS.join(' and ')}`,
    where: wheel,
    received,
    fix: 'pass --wheel with one, or run npm run native:build without --wheel to download it',
    code: 'E_BACKEND',
  });
}

/** The wheel's version and platform tags from its `.dist-info` (`Version:` lines, `Tag:` lines), if it has one. */
interface WheelTags {
  version?: string;
  tags?: string[];
}

/** E_BACKEND when the `.dist-info` read so far names another version or no Linux x86_64 platform. */
function checkTags(wheel: string, found: WheelTags): void {
  if (found.version !== undefined && found.version !== TF_WHEEL.version) {
    throw wrongWheel(wheel, `a wheel of version ${found.version}`);
  }
  if (found.tags !== undefined && !found.tags.some((tag) => /manylinux.*x86_64$/.test(tag))) {
    throw wrongWheel(wheel, `a wheel for ${found.tags.join(', ') || 'no platform'}`);
  }
}

/** The `Key: value` lines of a `.dist-info` file that are `key`. */
function fields(text: string, key: string): string[] {
  return text
    .split(/\r?\n/)
    .filter((line) => line.startsWith(`${key}: `))
    .map((line) => line.slice(key.length + 2).trim());
}

async function extractNeeded(
  wheel: string,
  destDir: string,
): Promise<{ files: number; bytes: number; libs: Set<string> }> {
  const zip = await yauzl.openPromise(wheel, { lazyEntries: true, autoClose: true }).catch((error: Error) => {
    throw expected({
      what: 'a readable wheel',
      where: wheel,
      received: `a file that does not open as a zip (${error.message})`,
      fix: 'delete it and run npm run native:build again',
      code: 'E_BACKEND',
      cause: error,
    });
  });
  let files = 0;
  let bytes = 0;
  const libs = new Set<string>();
  const found: WheelTags = {};
  try {
    for await (const entry of zip.eachEntry()) {
      // A wheel names its version and platform in its top-level `<name>-<version>.dist-info/` (METADATA, WHEEL).
      const info = /^[^/]+\.dist-info\/(METADATA|WHEEL)$/.exec(entry.fileName)?.[1];
      if (info !== undefined) {
        const text = await streamText(await zip.openReadStreamPromise(entry));
        if (info === 'METADATA') found.version = fields(text, 'Version')[0] ?? '';
        else found.tags = fields(text, 'Tag');
        checkTags(wheel, found);
        continue;
      }
      if (!isWheelMemberNeeded(entry.fileName)) continue;
      const target = join(destDir, entry.fileName);
      await mkdir(dirname(target), { recursive: true });
      await pipeline(await zip.openReadStreamPromise(entry), createWriteStream(target));
      if (WHEEL_LIBS.includes(entry.fileName)) libs.add(entry.fileName);
      files++;
      bytes += entry.uncompressedSize;
    }
  } finally {
    zip.close();
  }
  return { files, bytes, libs };
}

async function streamText(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Fills tfjs-node's `deps/` from an unpacked wheel: `deps/lib` gets the two libraries (hard links, or copies
 * across file systems) and the {@link LIB_ALIASES} symlinks; `deps/include` gets the headers. Built in
 * `deps.tmp-<pid>` (removed on failure, and those of runs that died removed first) and renamed over `deps/`.
 * Returns false when `deps/lib` already holds these very files. E_BACKEND when `unpackedDir` lacks a library.
 */
export async function stageDeps(pkgDir: string, unpackedDir: string): Promise<boolean> {
  const deps = join(pkgDir, 'deps');
  await removeStaleTemps(deps);
  const missing = WHEEL_LIBS.filter((lib) => !existsSync(join(unpackedDir, lib)));
  if (missing.length) {
    throw expected({
      what: `an unpacked ${TF_WHEEL.name} ${TF_WHEEL.version} wheel with ${WHEEL_LIBS.join(' and ')}`,
      where: unpackedDir,
      received: `a folder without ${missing.join(' and ')}`,
      fix: 'run npm run native:build -- --force',
      code: 'E_BACKEND',
    });
  }
  if (await sameLibs(join(deps, 'lib'), join(unpackedDir, 'tensorflow'))) return false;
  await replaceFolder(deps, async (tmp) => {
    await mkdir(join(tmp, 'lib'), { recursive: true });
    for (const lib of WHEEL_LIBS) await linkOrCopy(join(unpackedDir, lib), join(tmp, 'lib', basename(lib)));
    for (const [alias, target] of Object.entries(LIB_ALIASES)) await symlink(target, join(tmp, 'lib', alias));
    await cp(join(unpackedDir, 'tensorflow', 'include'), join(tmp, 'include'), { recursive: true });
  });
  return true;
}

async function sameLibs(libDir: string, sourceDir: string): Promise<boolean> {
  for (const lib of WHEEL_LIBS) {
    const [a, b] = await Promise.all([
      stat(join(libDir, basename(lib))).catch(() => null),
      stat(join(sourceDir, basename(lib))).catch(() => null),
    ]);
    if (!a || !b || a.size !== b.size || a.mtimeMs !== b.mtimeMs) return false;
  }
  return Object.keys(LIB_ALIASES).every((alias) => existsSync(join(libDir, alias)));
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  await link(from, to).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EXDEV' && error.code !== 'EPERM') throw error;
    await copyFile(from, to);
    const { atime, mtime } = await stat(from);
    await utimes(to, atime, mtime); // so the next run sees the same file and skips staging
  });
}

/** True when `bindingFile` was built by {@link markBuilt} against `wheel` (so the build can be skipped). */
export async function isBuiltAgainst(bindingFile: string, wheel: string): Promise<boolean> {
  if (!existsSync(bindingFile)) return false;
  const marker = await readFile(join(dirname(bindingFile), BUILT_MARKER), 'utf8').catch(() => '');
  return marker !== '' && (JSON.parse(marker) as { wheel: string }).wheel === basename(wheel);
}

/** Records, beside the binding, the wheel it was built against; removed by {@link clearBuilt}. */
export async function markBuilt(bindingFile: string, wheel: string): Promise<void> {
  const file = join(dirname(bindingFile), BUILT_MARKER);
  await writeFile(
    `${file}.tmp`,
    `${JSON.stringify({ wheel: basename(wheel), at: new Date().toISOString() })}\n`,
  );
  await rename(`${file}.tmp`, file);
}

/** Removes every built or downloaded binding (`lib/`) and tfjs-node's `build/` folder. */
export async function clearBuilt(pkgDir: string): Promise<void> {
  await rm(join(pkgDir, 'lib'), { recursive: true, force: true });
  await rm(join(pkgDir, 'build'), { recursive: true, force: true });
}

/**
 * `pip download` of the {@link TF_WHEEL} for CPython 3.11 on manylinux x86_64 into `destDir` (any local Python
 * with pip will do: it only downloads). The libraries inside are the same for every CPython tag.
 */
export function wheelDownloadCommand(destDir: string, python = 'python3'): CommandSpec {
  return {
    command: python,
    args: [
      ...[
        '-m',
        'pip',
        'download',
        `${TF_WHEEL.name}==${TF_WHEEL.version}`,
        '--no-deps',
        '--only-binary=:all:',
      ],
      ...[
        '--python-version',
        '3.11',
        '--platform',
        'manylinux_2_27_x86_64',
        '--platform',
        'manylinux_2_17_x86_64',
      ],
      ...['-d', destDir],
    ],
    cwd: destDir,
    env: process.env,
  };
}

/** The cached wheel in `dir` (`tensorflow_cpu-2.21.0-*manylinux*x86_64.whl`), if there is one. */
export async function findCachedWheel(dir: string): Promise<string | undefined> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const name = names.find((n) => n.startsWith(WHEEL_PREFIX) && /manylinux.*x86_64\.whl$/.test(n));
  return name === undefined ? undefined : join(dir, name);
}

/** Bytes on disk under `paths` (files and folders), counting each hard-linked file once; symlinks not followed. */
export async function diskUsage(paths: readonly string[], seen = new Set<number>()): Promise<number> {
  let total = 0;
  for (const path of paths) {
    const info = await lstat(path).catch(() => null);
    if (!info || info.isSymbolicLink() || seen.has(info.ino)) continue;
    seen.add(info.ino);
    if (!info.isDirectory()) total += info.size;
    else
      total += await diskUsage(
        (await readdir(path)).map((n) => join(path, n)),
        seen,
      );
  }
  return total;
}

/** The folder holding `include/node/node_api.h` for node-gyp (so it needs no header download), if any. */
export function nodeHeadersDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [env['npm_config_nodedir'], dirname(dirname(process.execPath)), '/usr'];
  return candidates.find((dir) => dir && existsSync(join(dir, 'include', 'node', 'node_api.h')));
}

/** A command to run: the program, its arguments, its folder and its environment. */
export interface CommandSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * `node-pre-gyp rebuild --build-from-source --build-latest-napi-version-only` in tfjs-node's folder, with
 * `npm_config_nodedir` set to local Node headers. Throws E_BACKEND with the fix when there are none.
 */
export function bindingBuildCommand(pkgDir: string, env: NodeJS.ProcessEnv = process.env): CommandSpec {
  const headers = nodeHeadersDir(env);
  if (headers === undefined) {
    throw expected({
      what: 'include/node/node_api.h',
      where: 'the Node headers',
      received: `none beside ${process.execPath} or in /usr`,
      fix: 'install them (Debian: apt-get install libnode-dev) or set npm_config_nodedir',
      code: 'E_BACKEND',
    });
  }
  const nodePreGyp = createRequire(join(pkgDir, 'package.json')).resolve(
    '@mapbox/node-pre-gyp/bin/node-pre-gyp',
  );
  return {
    command: process.execPath,
    args: [nodePreGyp, 'rebuild', '--build-from-source', '--build-latest-napi-version-only'],
    cwd: pkgDir,
    env: { ...env, npm_config_nodedir: headers },
  };
}

/**
 * tfjs-node's own installer (`scripts/install.js cpu download`): fetches libtensorflow 2.9.1 and the prebuilt
 * binding from Google's storage, or from the mirrors named by `TFJS_NODE_BASE_URI` / `TFJS_NODE_CDN_STORAGE`
 * and `npm_config_tfjs_binding_binary_host_mirror` (http or https). `binDir` (the repo's `node_modules/.bin`)
 * goes first on PATH so the installer finds `node-pre-gyp`.
 */
export function onlineInstallCommand(pkgDir: string, binDir: string, env = process.env): CommandSpec {
  const path = [binDir, env['PATH'] ?? ''].filter(Boolean).join(':');
  return {
    command: process.execPath,
    args: [join('scripts', 'install.js'), 'cpu', 'download'],
    cwd: pkgDir,
    env: { ...env, PATH: path },
  };
}

/** What Debian calls the programs the native build runs (`python3` also needs pip, for `pip download`). */
const DEBIAN_PACKAGES: Readonly<Record<string, string>> = {
  python3: 'python3 python3-pip',
  python: 'python3 python3-pip',
  'g++': 'g++',
  make: 'make',
};

/**
 * Runs a command, streaming its output to `onOutput` (default: dropped). Throws E_BACKEND naming the command,
 * its exit code, its last output lines and `fix` when it fails, or the Debian packages to install and `fix`
 * when it does not start (`python3` absent).
 */
export async function runCommand(
  spec: CommandSpec,
  fix: string,
  onOutput: (chunk: string) => void = () => {},
): Promise<void> {
  const name = [basename(spec.command), ...spec.args.map((a) => basename(a))].join(' ');
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const collect = (chunk: Buffer): void => {
    const text = chunk.toString();
    tail = (tail + text).slice(-2000);
    onOutput(text);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', (error: NodeJS.ErrnoException) => reject(notStarted(spec, name, fix, error)));
    child.on('close', resolve);
  });
  if (code !== 0) {
    const last = tail.trim().split('\n').slice(-3).join(' | ');
    throw expected({
      what: 'exit code 0',
      where: name,
      received: `${code} (${last})`,
      fix,
      code: 'E_BACKEND',
    });
  }
}

/** The E_BACKEND for a command that did not start: the program or its folder missing, not executable. */
function notStarted(spec: CommandSpec, name: string, fix: string, error: NodeJS.ErrnoException): Error {
  const program = basename(spec.command);
  const packages = DEBIAN_PACKAGES[program] ?? 'python3 python3-pip g++ make';
  const received = !existsSync(spec.cwd)
    ? `no folder ${spec.cwd} to run it in`
    : error.code === 'ENOENT'
      ? `no ${spec.command} on PATH (${error.code})`
      : `${spec.command} failing to start (${error.code ?? error.message})`;
  return expected({
    what: `${program} to run`,
    where: name,
    received,
    fix: `install it (Debian: apt-get install ${packages}), or ${fix}`,
    code: 'E_BACKEND',
    cause: error,
  });
}

/**
 * `npm run native:install`: clears any built binding (one built against the wheel would not load with the
 * libtensorflow 2.9.1 about to be fetched), runs tfjs-node's installer ({@link onlineInstallCommand}) and
 * checks that it left both libtensorflow and the binding. Throws E_BACKEND with the fix otherwise.
 */
export async function installOnline(
  pkgDir: string,
  binDir: string,
  onOutput: (chunk: string) => void = () => {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const fix = 'check the network or HTTPS_PROXY, or build offline with npm run native:build';
  await clearBuilt(pkgDir);
  await runCommand(onlineInstallCommand(pkgDir, binDir, env), fix, onOutput);
  const needed = [join(pkgDir, 'deps', 'lib', 'libtensorflow.so.2.9.1'), await bindingPath(pkgDir)];
  const missing = needed.filter((file) => !existsSync(file));
  if (missing.length) {
    throw expected({
      what: needed.join(' and '),
      where: 'tfjs-node scripts/install.js',
      received: `a finish without ${missing.join(' and ')}`,
      fix,
      code: 'E_BACKEND',
    });
  }
}
