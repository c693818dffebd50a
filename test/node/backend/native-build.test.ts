import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import {
  findCachedWheel,
  removeStaleTemps,
  runCommand,
  stageDeps,
  unpackWheel,
  wheelDownloadCommand,
} from '../../../src/node/backend/native-build.js';

const work = mkdtempSync(join(tmpdir(), 'lesionlab-native-unit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const bytes = (text: string) => new TextEncoder().encode(text);
const CC = 'tensorflow/libtensorflow_cc.so.2';
const FRAMEWORK = 'tensorflow/libtensorflow_framework.so.2';
const HEADERS = {
  'tensorflow/include/tensorflow/c/c_api.h': bytes('// c api'),
  'tensorflow/include/tsl/platform/ctstring.h': bytes('// ctstring'),
};
/** A pid no process has: above Linux's largest pid_max (2^22). */
const DEAD_PID = 2 ** 22 + 1;
const EXPECTED_WHEEL = /^expected a tensorflow_cpu-2\.21\.0-\*manylinux\*x86_64\.whl holding /;

function wheel(name: string, files: Record<string, Uint8Array>): string {
  const path = join(work, name);
  writeFileSync(path, zipSync(files));
  return path;
}

/** The `.dist-info` members of a real wheel: its version (METADATA) and platform tags (WHEEL). */
function distInfo(version: string, tag: string): Record<string, Uint8Array> {
  const dir = `tensorflow_cpu-${version}.dist-info`;
  return {
    [`${dir}/METADATA`]: bytes(`Metadata-Version: 2.4\nName: tensorflow_cpu\nVersion: ${version}\n`),
    [`${dir}/WHEEL`]: bytes(`Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: ${tag}\n`),
  };
}

const temps = (dir: string) => readdirSync(dir).filter((n) => n.includes('.tmp-'));

describe('unpackWheel refuses a wrong wheel (npm run native:build, step 2)', () => {
  it('refuses a wheel with the headers but not the two Linux libraries, writes no marker and leaves no temp', async () => {
    const dir = mkdtempSync(join(work, 'mac-'));
    const mac = wheel('tensorflow_macos-2.21.0-cp311-cp311-macosx_12_0_arm64.whl', HEADERS);
    const unpacked = join(dir, 'tensorflow-cpu-2.21.0');
    for (const run of [1, 2]) {
      await expect(unpackWheel(mac, unpacked), `run ${run}`).rejects.toMatchObject({
        name: 'LesionlabError',
        code: 'E_BACKEND',
        message: expect.stringMatching(EXPECTED_WHEEL),
      });
    }
    await expect(unpackWheel(mac, unpacked)).rejects.toThrow(/but received a wheel without either of them; /);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('names the one library a wheel lacks', async () => {
    const half = wheel('half.whl', { ...HEADERS, [CC]: bytes('cc') });
    await expect(unpackWheel(half, join(work, 'half'))).rejects.toThrow(
      /but received a wheel without tensorflow\/libtensorflow_framework\.so\.2; pass --wheel with one/,
    );
    expect(existsSync(join(work, 'half'))).toBe(false);
  });

  it('refuses a wheel whose .dist-info names another version or platform, and takes the right one', async () => {
    const libs = { ...HEADERS, [CC]: bytes('cc'), [FRAMEWORK]: bytes('fw') };
    const old = wheel('old.whl', { ...distInfo('2.20.0', 'cp311-cp311-manylinux_2_17_x86_64'), ...libs });
    await expect(unpackWheel(old, join(work, 'old'))).rejects.toThrow(
      /received a wheel of version 2\.20\.0;/,
    );
    const arm = wheel('arm.whl', { ...libs, ...distInfo('2.21.0', 'cp311-cp311-manylinux_2_17_aarch64') });
    await expect(unpackWheel(arm, join(work, 'arm'))).rejects.toMatchObject({
      code: 'E_BACKEND',
      message: expect.stringMatching(/received a wheel for cp311-cp311-manylinux_2_17_aarch64;/),
    });
    expect(temps(work)).toEqual([]);
    const good = wheel('good.whl', { ...distInfo('2.21.0', 'cp311-cp311-manylinux_2_27_x86_64'), ...libs });
    expect((await unpackWheel(good, join(work, 'good'))).files).toBe(4);
  });

  it('unpacks again over a folder an older run marked unpacked without the libraries', async () => {
    const libs = { ...HEADERS, [CC]: bytes('cc'), [FRAMEWORK]: bytes('fw') };
    const name = 'tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl';
    const unpacked = join(work, 'marked');
    mkdirSync(join(unpacked, 'tensorflow'), { recursive: true });
    writeFileSync(join(unpacked, '.unpacked.json'), JSON.stringify({ wheel: name, files: 1, bytes: 1 }));
    expect((await unpackWheel(wheel(name, libs), unpacked)).files).toBe(4);
    expect(existsSync(join(unpacked, FRAMEWORK))).toBe(true);
  });

  it('picks only a Linux x86_64 wheel from the cache folder', async () => {
    const dir = mkdtempSync(join(work, 'cache-'));
    writeFileSync(join(dir, 'tensorflow_cpu-2.21.0-cp311-cp311-macosx_12_0_arm64.whl'), '');
    expect(await findCachedWheel(dir)).toBeUndefined();
    writeFileSync(join(dir, 'tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl'), '');
    expect(await findCachedWheel(dir)).toMatch(/manylinux_2_27_x86_64\.whl$/);
  });
});

describe('stageDeps (npm run native:build, step 3)', () => {
  it('throws E_BACKEND, not a raw link error, for an unpacked folder without the libraries', async () => {
    const pkg = mkdtempSync(join(work, 'pkg-'));
    const unpacked = mkdtempSync(join(work, 'nolibs-'));
    await expect(stageDeps(pkg, unpacked)).rejects.toMatchObject({
      code: 'E_BACKEND',
      message: expect.stringMatching(
        /without tensorflow\/libtensorflow_cc\.so\.2 and .*; run npm run native:build -- --force$/,
      ),
    });
    expect(readdirSync(pkg)).toEqual([]);
  });
});

describe('temp folders of interrupted runs', () => {
  it('removes those of dead processes before unpacking and staging; --force (all) removes live ones too', async () => {
    const dir = mkdtempSync(join(work, 'temps-'));
    const unpacked = join(dir, 'tensorflow-cpu-2.21.0');
    const pkg = join(dir, 'tfjs-node');
    const live = process.ppid;
    for (const name of [
      `tensorflow-cpu-2.21.0.tmp-${DEAD_PID}`,
      `tensorflow-cpu-2.21.0.tmp-${live}`,
      'tensorflow-cpu-2.21.0.tmp-notapid',
      `other.tmp-${DEAD_PID}`,
      `tfjs-node/deps.tmp-${DEAD_PID}`,
      `tfjs-node/deps.tmp-${live}`,
    ]) {
      mkdirSync(join(dir, name, 'lib'), { recursive: true });
      writeFileSync(join(dir, name, 'lib', 'big.so'), 'x');
    }
    const libs = { ...HEADERS, [CC]: bytes('cc'), [FRAMEWORK]: bytes('fw') };
    await unpackWheel(wheel('tensorflow_cpu-2.21.0-cp311-x.whl', libs), unpacked);
    expect(temps(dir).sort()).toEqual(
      [
        `other.tmp-${DEAD_PID}`,
        `tensorflow-cpu-2.21.0.tmp-${live}`,
        'tensorflow-cpu-2.21.0.tmp-notapid',
      ].sort(),
    );
    await stageDeps(pkg, unpacked);
    expect(temps(pkg)).toEqual([`deps.tmp-${live}`]);

    mkdirSync(join(pkg, `deps.tmp-${process.pid}`));
    expect(await removeStaleTemps(join(pkg, 'deps'), true)).toEqual([join(pkg, `deps.tmp-${live}`)]);
    expect(temps(pkg)).toEqual([`deps.tmp-${process.pid}`]);
    expect(await removeStaleTemps(unpacked, true)).toEqual([join(dir, `tensorflow-cpu-2.21.0.tmp-${live}`)]);
  });
});

describe('runCommand', () => {
  it('turns a program that is not installed into E_BACKEND naming the Debian packages', async () => {
    const fix = 'download tensorflow-cpu==2.21.0 elsewhere and pass --wheel <path>';
    await expect(runCommand(wheelDownloadCommand(work, 'python3-absent'), fix)).rejects.toMatchObject({
      name: 'LesionlabError',
      code: 'E_BACKEND',
      message: expect.stringMatching(
        /^expected python3-absent to run for python3-absent -m pip download .* but received no python3-absent on PATH \(ENOENT\); install it \(Debian: apt-get install python3 python3-pip g\+\+ make\), or download tensorflow-cpu/,
      ),
    });
    const spec = { command: 'python3', args: ['-V'], cwd: work, env: { PATH: join(work, 'empty') } };
    await expect(runCommand(spec, 'retry')).rejects.toThrow(
      /; install it \(Debian: apt-get install python3 python3-pip\), or retry$/,
    );
  });

  it('says when the folder to run in is missing', async () => {
    const spec = { command: process.execPath, args: ['-v'], cwd: join(work, 'gone'), env: process.env };
    await expect(runCommand(spec, 'retry')).rejects.toMatchObject({
      code: 'E_BACKEND',
      message: expect.stringContaining(`but received no folder ${join(work, 'gone')} to run it in;`),
    });
  });
});
