import type { CommandDef } from 'citty';

/**
 * Every `lesionlab` sub-command, loaded lazily so that `lesionlab inspect` never pays for TensorFlow.js.
 * One line per command; each file under src/cli/ exports one `CommandDef`.
 */
export const COMMANDS: Record<string, () => Promise<CommandDef>> = {};
