import { type ArgDef, type ArgsDef, type CommandDef, type CommandMeta, defineCommand } from 'citty';
import { z } from 'zod';
import { expected, type LesionlabErrorCode, shown } from '../../core/errors.js';
import { describeSchema, exampleOf } from './describe.js';

/**
 * One command-line flag, declared once: how citty shows and reads it (`kind`, `description`, `default`) and
 * how its text becomes a value (`schema`, a zod schema that coerces the text). A flag with a `key` sets that
 * training-config key instead (its value is checked by the config schema, whose errors name the key).
 */
export interface FlagSpec {
  /** citty's kind: `string` (default), `boolean`, `enum` (citty lists and checks `choices`), `positional`. */
  readonly kind?: 'string' | 'boolean' | 'enum' | 'positional';
  readonly description: string;
  /** How the flag's text is checked and converted; absent: the text as given. */
  readonly schema?: z.ZodType;
  /** The allowed values of an `enum` flag (shown by citty as `--flag=<a|b>`). */
  readonly choices?: readonly string[];
  /** As typed on the command line (citty shows it in `--help`). */
  readonly default?: string | boolean;
  readonly required?: boolean;
  /** The dotted training-config key this flag sets (`train.epochs`). */
  readonly key?: string;
  /** The error code of a refused value (default `E_CONFIG`). */
  readonly code?: LesionlabErrorCode;
  /** A last positional that takes every remaining argument (one or more): its value is a list. */
  readonly variadic?: boolean;
}

/** A command's flags by name, in `--help` order. */
export type FlagTable = Readonly<Record<string, FlagSpec>>;

type ValueOf<F extends FlagSpec> = F extends { variadic: true }
  ? string[]
  : F extends { schema: z.ZodType<infer T> }
    ? T
    : F extends { kind: 'boolean' }
      ? boolean
      : F extends { kind: 'enum'; choices: readonly (infer C extends string)[] }
        ? C
        : string;

/** The parsed values of a table: a flag with a default or `required` always has one. */
export type FlagValues<T extends FlagTable> = {
  -readonly [K in keyof T]: T[K] extends { default: string | boolean } | { required: true }
    ? ValueOf<T[K]>
    : ValueOf<T[K]> | undefined;
};

/** A text flag; `schema` checks and converts its text. */
export function textFlag<const S extends Omit<FlagSpec, 'kind' | 'choices'>>(
  spec: S,
): S & { kind: 'string' } {
  return { ...spec, kind: 'string' };
}

/** An integer flag from `min` to `max` (inclusive); its default is shown as typed. */
export function intFlag<const O extends IntLimits>(description: string, limits: O): IntFlag<O> {
  const int = z.coerce.number().int().min(limits.min);
  return {
    kind: 'string',
    description,
    schema: limits.max === undefined ? int : int.max(limits.max),
    ...(limits.default === undefined ? {} : { default: String(limits.default) }),
    ...(limits.code ? { code: limits.code } : {}),
  } as IntFlag<O>;
}

interface IntLimits {
  readonly min: number;
  readonly max?: number;
  readonly default?: number;
  readonly code?: LesionlabErrorCode;
}

type IntFlag<O extends IntLimits> = {
  kind: 'string';
  description: string;
  schema: z.ZodType<number>;
} & (O extends {
  default: number;
}
  ? { default: string }
  : { default?: undefined });

/** A flag whose value is one of `choices` (a registry's names), checked by lesionlab with an `expected` error. */
export function choiceFlag<const C extends readonly string[], const S extends Partial<FlagSpec>>(
  choices: C,
  spec: S & { description: string },
): S & { kind: 'string'; description: string; schema: z.ZodType<C[number]> } {
  return { ...spec, kind: 'string', schema: z.enum(choices) };
}

/** A yes/no flag; citty also reads `--no-<name>`. */
export function booleanFlag<const S extends Omit<FlagSpec, 'kind' | 'schema' | 'choices'>>(
  spec: S,
): S & { kind: 'boolean' } {
  return { ...spec, kind: 'boolean' };
}

/** A positional argument (required unless said otherwise). */
export function positional(description: string) {
  return { kind: 'positional' as const, description, required: true as const };
}

/**
 * The last positional argument, taking one or more values (`predict MODEL a.jpg b.jpg`): its value is the list
 * of every positional argument from its place on. Any other command refuses arguments beyond its positionals.
 */
export function positionalList(description: string) {
  return { kind: 'positional' as const, description, required: true as const, variadic: true as const };
}

/** Whether citty's `def` is a {@link positionalList} (the mark citty ignores and `checkUnknownFlags` reads). */
export function isVariadic(def: ArgDef): boolean {
  return def.type === 'positional' && (def as { variadic?: unknown }).variadic === true;
}

/** citty's view of one flag: the same text, default and kind as before the table existed. */
function toArgDef(spec: FlagSpec): ArgDef {
  const common = {
    description: spec.description,
    ...(spec.required ? { required: true } : {}),
  };
  if (spec.kind === 'boolean') {
    return {
      type: 'boolean',
      ...common,
      ...(spec.default === undefined ? {} : { default: spec.default === true }),
    };
  }
  const text = spec.default === undefined ? {} : { default: String(spec.default) };
  if (spec.kind === 'positional') {
    const def: ArgDef = { type: 'positional', ...common, ...text };
    return spec.variadic ? Object.assign(def, { variadic: true }) : def;
  }
  if (spec.kind === 'enum') return { type: 'enum', options: [...(spec.choices ?? [])], ...common, ...text };
  return { type: 'string', ...common, ...text };
}

/** citty's `args` for a table (what `defineCommand` takes and `--help` shows). */
export function cittyArgs<T extends FlagTable>(table: T): { [K in keyof T]: ArgDef } {
  return Object.fromEntries(Object.entries(table).map(([name, spec]) => [name, toArgDef(spec)])) as {
    [K in keyof T]: ArgDef;
  };
}

/**
 * Reads citty's parsed args through the table: each flag's text through its schema. A refused value throws
 * `expected ... for --flag but received "text"; e.g. --flag <example>` with the flag's code (default E_CONFIG).
 */
export function parseFlags<T extends FlagTable>(
  table: T,
  raw: Readonly<Record<string, unknown>>,
): FlagValues<T> {
  const values: Record<string, unknown> = {};
  const positionals = Object.entries(table).filter(([, spec]) => spec.kind === 'positional');
  for (const [name, spec] of Object.entries(table)) {
    values[name] = spec.variadic
      ? listValue(
          raw,
          name,
          positionals.findIndex(([n]) => n === name),
        )
      : parseFlag(name, spec, raw[name]);
  }
  return values as FlagValues<T>;
}

/** A {@link positionalList}'s values: citty's positionals (`_`) from its place on, or the one citty assigned. */
function listValue(
  raw: Readonly<Record<string, unknown>>,
  name: string,
  index: number,
): string[] | undefined {
  const all = raw._;
  if (Array.isArray(all) && all.length > index) return all.slice(index).map(String);
  return raw[name] === undefined ? undefined : [String(raw[name])];
}

function parseFlag(name: string, spec: FlagSpec, value: unknown): unknown {
  if (value === undefined || spec.schema === undefined) return value;
  const parsed = spec.schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const example = typeof spec.default === 'string' ? spec.default : exampleOf(spec.schema);
  throw expected({
    what: describeSchema(spec.schema),
    where: `--${name}`,
    received: shown(value),
    ...(example === undefined ? {} : { fix: `e.g. --${name} ${example}` }),
    code: spec.code ?? 'E_CONFIG',
  });
}

/** A table of flags plus the two views of it a command needs: citty's args and the typed parse step. */
export interface Flags<T extends FlagTable> {
  readonly table: T;
  readonly args: ArgsDef;
  parse(raw: Readonly<Record<string, unknown>>): FlagValues<T>;
}

/** Declares a command's flags once; `defineCommand({ args: flags.args, run: ({ args }) => flags.parse(args) })`. */
export function defineFlags<const T extends FlagTable>(table: T): Flags<T> {
  return { table, args: cittyArgs(table), parse: (raw) => parseFlags(table, raw) };
}

/** A command declared by its flag table: citty gets the table's args, `run` gets the parsed values (and citty's raw args). */
export function flagCommand<T extends FlagTable>(
  flags: Flags<T>,
  def: {
    readonly meta: CommandMeta;
    run(values: FlagValues<T>, raw: Readonly<Record<string, unknown>>): Promise<void>;
  },
): CommandDef {
  return defineCommand({
    meta: def.meta,
    args: flags.args,
    run: ({ args }) => def.run(flags.parse(args), args),
  });
}
