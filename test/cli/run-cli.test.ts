import { defineCommand } from 'citty';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.js';
import { runCli } from '../../src/cli/run-cli.js';

const main = defineCommand({
  meta: { name: 'lesionlab', version: '0.1.0', description: 'Skin-lesion classifiers' },
  subCommands: COMMANDS,
});

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = 0;
});

/** Runs the CLI in-process: what it wrote to stdout and stderr, and the code of its `process.exit` call (mocked). */
async function cli(command: typeof main, rawArgs: string[]) {
  const seen = { stdout: '', stderr: '', exit: undefined as number | undefined };
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    seen.stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    seen.stderr += String(chunk);
    return true;
  });
  // citty prints the version and --help with console.log (which vitest intercepts) and errors with console.error
  vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => {
    seen.stdout += `${parts.join(' ')}\n`;
  });
  vi.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => {
    seen.stderr += `${parts.map(String).join(' ')}\n`;
  });
  vi.spyOn(process, 'exit').mockImplementation(((code?: number) => {
    seen.exit ??= code ?? 0;
  }) as typeof process.exit);
  await runCli(command, rawArgs);
  vi.restoreAllMocks();
  return seen;
}

describe('-v/--version and -h/--help: only what citty answers itself goes to citty', () => {
  it('--version or -v alone prints the version', async () => {
    for (const flag of ['--version', '-v']) {
      const r = await cli(main, [flag]);
      expect(r).toEqual({ stdout: '0.1.0\n', stderr: '', exit: undefined });
    }
  });

  it('-v after a command is an unknown flag: one line, no stack, the command never runs', async () => {
    const r = await cli(main, ['inspect', 'nope', '-v']);
    expect(r.stderr).toBe(
      'lesionlab: expected a known flag for `lesionlab inspect` but received -v; `lesionlab --version`, alone, prints the version (`lesionlab inspect --help` lists every flag) [E_USAGE]\n',
    );
    expect(r.exit).toBeUndefined();
    expect(process.exitCode).toBe(1);
    const version = await cli(main, ['inspect', 'nope', '--version']);
    expect(version.stderr).toContain('but received --version; `lesionlab --version`, alone,');
  });

  it('an unknown flag next to -v is still refused, before the command runs', async () => {
    const r = await cli(main, ['inspect', 'data/sample/ham10000', '--bogus', '-v']);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^lesionlab: expected a known flag for `lesionlab inspect` but received --bogus; did you mean --[\w-]+\? .*\[E_USAGE\]\n$/,
    );
    expect(process.exitCode).toBe(1);
  });

  it("a command's own error stays one line with exit code 2 (runCli, not citty's runMain)", async () => {
    const { expected } = await import('../../src/core/errors.js');
    const failing = defineCommand({
      meta: { name: 'x', version: '1.0.0' },
      subCommands: {
        go: defineCommand({
          args: { root: { type: 'positional' }, on: { type: 'boolean' } },
          run: () => {
            throw expected({ what: 'a folder', where: 'root', received: 'nothing', code: 'E_MISSING_FILE' });
          },
        }),
      },
    });
    const r = await cli(failing, ['go', 'nope', '--on']);
    expect(r.stderr).toBe('lesionlab: expected a folder for root but received nothing [E_MISSING_FILE]\n');
    expect(r.exit).toBeUndefined();
    expect(process.exitCode).toBe(2);
  });

  it('--help before `--` shows the command usage on stdout (exit 0); after `--` it is an argument', async () => {
    const help = await cli(main, ['inspect', 'x', '--help']);
    expect(help.stdout).toContain('USAGE lesionlab inspect [OPTIONS] <ROOT>');
    expect(help.exit).toBe(0);
    const ran = vi.fn();
    const echo = defineCommand({
      meta: { name: 'x' },
      subCommands: {
        go: defineCommand({ args: { a: { type: 'positional' }, b: { type: 'positional' } }, run: ran }),
      },
    });
    const r = await cli(echo, ['go', 'one', '--', '-h']);
    expect(r.exit).toBeUndefined();
    expect(ran).toHaveBeenCalledOnce();
    expect(ran.mock.calls[0]?.[0].args).toMatchObject({ a: 'one', b: '-h' });
  });
});

describe('usage errors citty reports', () => {
  it("show the sub-command's usage (not every command) on stderr, then the error; nothing on stdout", async () => {
    const r = await cli(main, ['inspect', 'data/sample/ham10000', '--format', 'bogus']);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('USAGE lesionlab inspect [OPTIONS] <ROOT>');
    expect(r.stderr).toContain('--format=<auto|ham10000|folder|csv|isic>');
    expect(r.stderr).not.toContain('augment-preview');
    expect(r.stderr).not.toMatch(/ +\n/); // citty's column padding trimmed
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(
      'lesionlab: Invalid value for argument: --format (bogus). Expected one of: auto, ham10000, folder, csv, isic.',
    );
    expect(r.exit).toBeUndefined();
    expect(process.exitCode).toBe(1);
  });

  it('a missing argument of a nested command shows that command', async () => {
    const r = await cli(main, ['queue', 'submit']);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('USAGE queue submit [OPTIONS] <MODEL> <INPUT>');
    expect(r.stderr).toContain('lesionlab: Missing required positional argument: MODEL\n');
  });

  it('an unknown command, or none, shows the list of commands on stderr', async () => {
    for (const args of [['bogus'], []]) {
      const r = await cli(main, args);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('COMMANDS');
      expect(r.stderr).toContain('augment-preview');
      expect(process.exitCode).toBe(1);
    }
  });
});
