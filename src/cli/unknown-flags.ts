import type { ArgDef, ArgsDef, CommandDef, SubCommandsDef } from 'citty';
import { expected, shown } from '../core/errors.js';
import { at } from '../core/util/at.js';
import { isVariadic } from './flags/table.js';

/**
 * Flags every command accepts: citty's `--help` (run-cli hands any `--help` before `--` to citty). `--version`
 * is not one: it is only read alone (`lesionlab --version`), so after a command it is an unknown flag.
 */
const BUILTIN = ['help', 'h'];

type Resolvable<T> = T | Promise<T> | (() => T | Promise<T>);
const resolve = async <T>(value: Resolvable<T>): Promise<T> =>
  typeof value === 'function' ? await (value as () => T | Promise<T>)() : await value;

const argsOf = async (command: CommandDef): Promise<ArgsDef> =>
  command.args ? await resolve<ArgsDef>(command.args as Resolvable<ArgsDef>) : {};

/** The command a command line names, found as citty finds it (`lesionlab queue submit ...` → `submit`). */
export interface ResolvedCommand {
  readonly command: CommandDef;
  /** The command above it (citty's usage names both), absent for the main command. */
  readonly parent?: CommandDef;
  /** The sub-command names followed (`['queue', 'submit']`). */
  readonly path: readonly string[];
  /** The arguments left for `command`. */
  readonly rawArgs: readonly string[];
  /** The arguments each command above it read before the next name (its own flags). */
  readonly above: readonly {
    readonly command: CommandDef;
    path: readonly string[];
    rawArgs: readonly string[];
  }[];
}

/** Follows sub-command names from `main` (citty's `resolveSubCommand`, which citty does not export). */
export async function resolveCommand(main: CommandDef, rawArgs: readonly string[]): Promise<ResolvedCommand> {
  let command = main;
  let parent: CommandDef | undefined;
  let rest = rawArgs;
  const path: string[] = [];
  const above: ResolvedCommand['above'][number][] = [];
  for (;;) {
    const subCommands = command.subCommands ? await resolve<SubCommandsDef>(command.subCommands) : {};
    const index = subCommandIndex(rest, await argsOf(command));
    const name = index < 0 ? undefined : rest[index];
    const entry = name === undefined || !Object.hasOwn(subCommands, name) ? undefined : subCommands[name];
    if (entry === undefined || name === undefined) break;
    above.push({ command, path: [...path], rawArgs: rest.slice(0, index) });
    parent = command;
    command = await resolve(entry as Resolvable<CommandDef>);
    path.push(name);
    rest = rest.slice(index + 1);
  }
  return { command, ...(parent ? { parent } : {}), path, rawArgs: rest, above };
}

/** Where citty looks for a sub-command's name: the first argument that is neither a flag nor a flag's value. */
function subCommandIndex(tokens: readonly string[], args: ArgsDef): number {
  for (let i = 0; i < tokens.length; i++) {
    const token = at(tokens, i);
    if (token === '--') return -1;
    if (!token.startsWith('-')) return i;
    if (!token.includes('=') && takesValue(findArg(args, token.replace(/^-{1,2}/, ''))?.def)) i++;
  }
  return -1;
}

/**
 * Refuses what citty would silently ignore or misread, as one `E_USAGE` error naming the argument and the fix:
 * - a flag the command does not define (`--dropout=0.5`, a typo, `-v` after a command), naming the closest
 *   valid flag and where to find them all;
 * - a yes/no flag given a value other than true or false (`--density=0` and `--density=no` left it on), or a
 *   separate `true`/`false` after it (`--density false` left it on: citty reads `false` as an argument);
 * - more arguments than the command's positionals (`predict MODEL a.jpg b.jpg` classified only a.jpg), unless
 *   its last positional takes a list.
 * One check for every command: the sub-command is found in `main`'s table (and, for a command with
 * sub-commands of its own such as `queue submit`, in its table, and so on) and its own `args` are read.
 */
export async function checkUnknownFlags(main: CommandDef, rawArgs: readonly string[]): Promise<void> {
  const resolved = await resolveCommand(main, rawArgs);
  for (const { command, path, rawArgs: tokens } of resolved.above) {
    await checkArguments(await argsOf(command), tokens, path, { positionals: false });
  }
  const subCommands = resolved.command.subCommands
    ? await resolve<SubCommandsDef>(resolved.command.subCommands)
    : {};
  // an unknown sub-command name is citty's error to report (`Unknown command x`, with the list of commands)
  const positionals = Object.keys(subCommands).length === 0;
  await checkArguments(await argsOf(resolved.command), resolved.rawArgs, resolved.path, { positionals });
}

/**
 * A flag given twice: citty keeps only the last (`--set seed=3 --set train.epochs=2` dropped seed=3), so one
 * `E_USAGE` naming it, with the way to give several values where there is one.
 */
function checkRepeats(
  args: ArgsDef,
  flags: readonly { readonly flag: string; readonly token: string }[],
  command: string,
): void {
  const seen = new Set<string>();
  for (const { flag, token } of flags) {
    const found = findArg(args, flag);
    const key = found ? found.spelling : flag;
    if (!seen.has(key)) {
      seen.add(key);
      continue;
    }
    const name = `--${key}`;
    throw expected({
      what: `${name} once`,
      where: `\`${command}\``,
      received: `it twice (${token.split('=')[0] ?? token} again), and only the last would count`,
      fix: key === 'set' ? 'give every key in one --set a=1,b=2' : `keep one ${name}`,
      code: 'E_USAGE',
    });
  }
}

async function checkArguments(
  args: ArgsDef,
  tokens: readonly string[],
  path: readonly string[],
  options: { positionals: boolean },
): Promise<void> {
  const known = knownFlags(args);
  const command = ['lesionlab', ...path].join(' ');
  const { flags, positionals } = scan(tokens, args);
  for (const { flag, token, value } of flags) {
    if (known.has(flag)) continue;
    throw expected({
      what: 'a known flag',
      where: `\`${command}\``,
      received: token.split('=')[0] ?? token,
      fix: `${await suggest(flag, value, args, known)} (\`${command} --help\` lists every flag)`,
      code: 'E_USAGE',
    });
  }
  checkRepeats(args, flags, command);
  for (const { flag, token, value } of flags) {
    const found = findArg(args, flag);
    if (found?.def.type !== 'boolean' || value === undefined) continue;
    if (!found.negated && (value === 'true' || value === 'false')) continue;
    const name = token.split('=')[0] ?? token;
    throw expected({
      what: found.negated ? `no value (${name} is a yes/no flag)` : 'true or false',
      where: found.negated ? `\`${command}\`` : name,
      received: shown(value),
      fix: `write --${found.spelling} alone to turn it on, --no-${found.spelling} to turn it off`,
      code: 'E_USAGE',
    });
  }
  for (const { token, after } of positionals) {
    if (after === undefined || (token !== 'true' && token !== 'false')) continue;
    const found = findArg(args, after.flag);
    const spelling = found?.spelling ?? after.flag;
    const off = found?.negated ? token === 'true' : token === 'false';
    throw expected({
      what: `no value after the yes/no flag ${after.token}`,
      where: `\`${command}\``,
      received: `an extra argument "${token}"`,
      fix: off ? `use --no-${spelling} to turn it off` : `write --${spelling} alone to turn it on`,
      code: 'E_USAGE',
    });
  }
  if (options.positionals) checkPositionalCount(args, positionals, command);
}

/** Refuses arguments beyond the command's positionals (a last {@link isVariadic} positional takes them all). */
function checkPositionalCount(
  args: ArgsDef,
  positionals: readonly { token: string }[],
  command: string,
): void {
  const declared = Object.entries(args).filter(([, def]) => def.type === 'positional');
  const last = declared.at(-1);
  if ((last && isVariadic(last[1])) || positionals.length <= declared.length) return;
  const extra = positionals.slice(declared.length).map((p) => JSON.stringify(p.token));
  const names = declared.map(([name]) => name.toUpperCase());
  const n = declared.length;
  const description = last?.[1].description;
  const takes = last
    ? `${last[0].toUpperCase()} takes one value${description ? `: ${lowerFirst(description)}` : ''}; `
    : '';
  throw expected({
    what: n === 0 ? 'no arguments' : `at most ${n} argument${n === 1 ? '' : 's'} (${names.join(' ')})`,
    where: `\`${command}\``,
    received: `${positionals.length}: ${extra.join(' ')} ${extra.length === 1 ? 'is' : 'are'} extra`,
    fix: `${takes}remove the extra, or quote a path that has spaces (\`${command} --help\` lists the arguments)`,
    code: 'E_USAGE',
  });
}

/** Every spelling citty accepts for the command's flags: name, kebab and camel case, aliases, `no-` forms. */
function knownFlags(args: ArgsDef): Set<string> {
  const known = new Set(BUILTIN);
  for (const [name, def] of Object.entries(args)) {
    if (def.type === 'positional') continue;
    for (const spelling of spellings(name, def)) {
      known.add(spelling);
      if (def.type === 'boolean') known.add(`no-${spelling}`);
    }
  }
  return known;
}

function spellings(name: string, def: ArgDef): string[] {
  const aliases = 'alias' in def && def.alias ? [def.alias].flat() : [];
  return [name, kebab(name), camel(name), ...aliases];
}

/** The flag `flag` (as typed, without dashes or value) names, and whether it is the `no-` form of a boolean. */
function findArg(
  args: ArgsDef,
  flag: string,
): { def: ArgDef; spelling: string; negated: boolean } | undefined {
  for (const [name, def] of Object.entries(args)) {
    if (def.type === 'positional') continue;
    const names = spellings(name, def);
    if (names.includes(flag)) return { def, spelling: kebab(name), negated: false };
    if (def.type === 'boolean' && names.some((n) => flag === `no-${n}`)) {
      return { def, spelling: kebab(name), negated: true };
    }
  }
  return undefined;
}

const takesValue = (def: ArgDef | undefined): boolean => def?.type === 'string' || def?.type === 'enum';

interface Scanned {
  /** Flags as typed (`--a=1`, `--a`, `-a`): `flag` is the name without dashes and value. */
  readonly flags: { flag: string; token: string; value?: string }[];
  /** Arguments citty reads as positionals, each with the flag just before it when that flag takes no value. */
  readonly positionals: { token: string; after?: { flag: string; token: string } }[];
}

/** Splits `tokens` as citty reads them: flags, the values of string flags (skipped), and positionals (all after `--`). */
function scan(tokens: readonly string[], args: ArgsDef): Scanned {
  const scanned: Scanned = { flags: [], positionals: [] };
  let previous: { flag: string; token: string } | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const token = at(tokens, i);
    if (token === '--') {
      scanned.positionals.push(...tokens.slice(i + 1).map((t) => ({ token: t })));
      break;
    }
    if (/^-\d/.test(token)) continue; // `-1`: a negative number, which citty reads as neither
    if (!token.startsWith('-') || token === '-') {
      // `-`: stdin, an argument
      scanned.positionals.push({ token, ...(previous ? { after: previous } : {}) });
      previous = undefined;
      continue;
    }
    const [name = '', ...value] = token.replace(/^-{1,2}/, '').split('=');
    scanned.flags.push({ flag: name, token, ...(value.length > 0 ? { value: value.join('=') } : {}) });
    previous = undefined;
    if (token.includes('=')) continue;
    const def = findArg(args, name)?.def;
    if (takesValue(def)) i++;
    else if (def?.type === 'boolean') previous = { flag: name, token };
  }
  return scanned;
}

/** `did you mean --x?`, or for a training-config key given as a flag, the `--set` form that sets it. */
async function suggest(
  flag: string,
  value: string | undefined,
  args: ArgsDef,
  known: ReadonlySet<string>,
): Promise<string> {
  if (flag === 'v' || flag === 'version') return '`lesionlab --version`, alone, prints the version';
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

/** `Dataset folder` → `dataset folder`, leaving `CSV …` as is. */
function lowerFirst(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text.charAt(0).toLowerCase() + text.slice(1) : text;
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
