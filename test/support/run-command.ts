import { type ArgsDef, type CommandDef, runCommand } from 'citty';
import { vi } from 'vitest';

/** Runs a CLI command in-process and returns what it wrote to stdout (stderr is swallowed). */
export async function runAndCapture<T extends ArgsDef>(
  cmd: CommandDef<T>,
  rawArgs: string[],
): Promise<string> {
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  await runCommand(cmd, { rawArgs });
  vi.restoreAllMocks();
  return out;
}
