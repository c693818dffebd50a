import type { ArgsDef, CommandDef, SubCommandsDef } from 'citty';
import { expected } from '../core/errors.js';
import { at } from '../core/util/at.js';

/** Flags every command accepts (citty's own). */
const BUILTIN = ['help', 'h', 'version', 'v'];

type Resolvable<T> = T | Promise<T> | (() => T | Promise<T>);
const resolve = async <T>(value: Resolvable<T>): Promise<T> =>
  typeof value === 'function' ? await (value as () => T | Promise<T>)() : await value;

/**
 * Refuses a flag the command does not define (citty itself ignores them, so `--dropout=0.5` or a typo
 * silently did nothing): throws `E_USAGE` naming the flag, the closest valid flag and where to find them all.
 * One check for every command: the sub-command is found in `main`'s table (and, for a command with
 * sub-commands of its own such as `queue submit`, in its table, and so on) and its own `args` are read.
 */
export async function checkUnknownFlags(
  main: CommandDef,
  rawArgs: readonly string[],
  path: readonly string[] = [],
): Promise<void> {
  const at = rawArgs.findIndex((arg) => !arg.startsWith('-'));
  const subCommands = main.subCommands ? await resolve<SubCommandsDef>(main.subCommands) : {};
  const name = at < 0 ? undefined : rawArgs[at];
  const entry = name === undefined ? undefined : subCommands[name];
  if (entry && name !== undefined) {
    return checkUnknownFlags(await resolve(entry as Resolvable<CommandDef>), rawArgs.slice(at + 1), [
      ...path,
      name,
    ]);
  }
  const args = main.args ? await resolve<ArgsDef>(main.args as Resolvable<ArgsDef>) : {};
  const known = knownFlags(args);
  const command = ['lesionlab', ...path].join(' ');
  for (const { flag, value } of flagNames(rawArgs, args)) {
    if (known.has(flag)) continue;
    throw expected({
      what: 'a known flag',
      where: `\`${command}\``,
      received: `--${flag}`,
      fix: `${await suggest(flag, value, args, known)} (\`${command} --help\` lists every flag)`,
      code: 'E_USAGE',
    });
  }
}

/** Every spelling citty accepts for the command's flags: name, kebab and camel case, aliases, `no-` forms. */
function knownFlags(args: ArgsDef): Set<string> {
  const known = new Set(BUILTIN);
  for (const [name, def] of Object.entries(args)) {
    if (def.type === 'positional') continue;
    const aliases = 'alias' in def && def.alias ? [def.alias].flat() : [];
    for (const spelling of [name, kebab(name), camel(name), ...aliases]) {
      known.add(spelling);
      if (def.type === 'boolean') known.add(`no-${spelling}`);
    }
  }
  return known;
}

/** Names of the flags in `tokens` (`--a=1`, `--a 1`, `-a`), skipping the values of string flags and all after `--`. */
function flagNames(tokens: readonly string[], args: ArgsDef): { flag: string; value?: string }[] {
  const names: { flag: string; value?: string }[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = at(tokens, i);
    if (token === '--') break;
    if (!token.startsWith('-') || token === '-' || /^-\d/.test(token)) continue; // `-`: stdin, `-1`: a value
    const [name = '', ...value] = token.replace(/^-{1,2}/, '').split('=');
    names.push({ flag: name, ...(value.length > 0 ? { value: value.join('=') } : {}) });
    const def = args[name] ?? args[camel(name)] ?? args[kebab(name)];
    if (!token.includes('=') && def && (def.type === 'string' || def.type === 'enum')) i++;
  }
  return names;
}

/** `did you mean --x?`, or for a training-config key given as a flag, the `--set` form that sets it. */
async function suggest(
  flag: string,
  value: string | undefined,
  args: ArgsDef,
  known: ReadonlySet<string>,
): Promise<string> {
  const key = 'set' in args ? await configKey(flag) : undefined;
  if (key) return `it is the config key ${key}: write --set ${key}=${value ?? '<value>'}`;
  const candidates = [...known].filter((k) => k.length > 1 && !k.startsWith('no-'));
  const closest = candidates.reduce(
    (best, k) => {
      const distance = editDistance(flag.toLowerCase(), k.toLowerCase());
      return distance < best.distance ? { name: k, distance } : best;
    },
    { name: 'help', distance: Number.POSITIVE_INFINITY },
  );
  return `did you mean --${closest.name}?`;
}

/** The dotted training-config key whose last part is `flag` (`dropout` → `model.dropout`), if exactly one. */
export async function configKey(flag: string): Promise<string | undefined> {
  // loaded only here: the schema pulls in the backbone registry, which `inspect` and friends never need
  const { configKeyNames } = await import('../core/config/train-config.js');
  const wanted = camel(flag).toLowerCase();
  const matches = configKeyNames().filter((key) => key.split('.').pop()?.toLowerCase() === wanted);
  return matches.length === 1 ? matches[0] : undefined;
}

function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Levenshtein distance. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = at(previous, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1);
      row[j] = Math.min(at(previous, j) + 1, at(row, j - 1) + 1, substitution);
    }
    previous = row;
  }
  return at(previous, b.length);
}
