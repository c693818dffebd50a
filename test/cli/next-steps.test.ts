import { join } from 'node:path';
import { defineCommand } from 'citty';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.js';
import { nextSteps } from '../../src/cli/run.js';
import { checkUnknownFlags } from '../../src/cli/unknown-flags.js';
import { at } from '../../src/core/util/at.js';

const main = defineCommand({ meta: { name: 'lesionlab' }, subCommands: COMMANDS });

describe('npm start ends with what to do next', () => {
  const lines = nextSteps(join(process.cwd(), 'runs', '20260101-mobilenet_v2'));

  it('names the run (relative to here) in web and evaluate, then the shipped configs', () => {
    expect(lines[0]).toBe('next:');
    expect(lines.join('\n')).toContain('npx lesionlab web runs/20260101-mobilenet_v2 ');
    expect(lines.join('\n')).toContain('npx lesionlab evaluate runs/20260101-mobilenet_v2 ');
    expect(lines.join('\n')).toContain('train --config configs/seed-inception-resnet-v2.json');
    expect(lines.join('\n')).toContain('compare --configs configs/');
  });

  it('every suggested command exists and takes the flags it is shown with', async () => {
    for (const line of lines.slice(1)) {
      const words = line
        .trim()
        .replace(/^npx lesionlab /, '')
        .replace(/#.*$/, '')
        .trim()
        .split(/\s+/);
      expect(Object.keys(COMMANDS)).toContain(at(words, 0));
      await expect(checkUnknownFlags(main, words)).resolves.toBeUndefined();
    }
  });
});
