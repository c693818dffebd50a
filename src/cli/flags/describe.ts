import { z } from 'zod';

interface Bound {
  readonly value: number;
  readonly inclusive: boolean;
}

/** A number schema's integer flag and bounds, read from its zod checks. */
function numberLimits(schema: z.ZodNumber): { int: boolean; min?: Bound; max?: Bound } {
  const limits: { int: boolean; min?: Bound; max?: Bound } = { int: schema.isInt };
  for (const check of schema.def.checks ?? []) {
    const def = (check as { _zod: { def: { check: string; value?: unknown; inclusive?: boolean } } })._zod
      .def;
    if (typeof def.value !== 'number') continue;
    const bound = { value: def.value, inclusive: def.inclusive === true };
    if (def.check === 'greater_than') limits.min = bound;
    if (def.check === 'less_than') limits.max = bound;
  }
  return limits;
}

/** An integer bound made inclusive (`> 0` is `>= 1`); other bounds as they are. */
function inclusive(bound: Bound | undefined, int: boolean, step: 1 | -1): Bound | undefined {
  if (!bound || bound.inclusive || !int) return bound;
  return { value: bound.value + step, inclusive: true };
}

/** The inclusive integer range of a number schema, e.g. `[1, 8]` for views; undefined unless bounded both ways. */
export function integerRange(schema: z.ZodType): readonly [number, number] | undefined {
  if (!(schema instanceof z.ZodNumber)) return undefined;
  const limits = numberLimits(schema);
  const min = inclusive(limits.min, limits.int, 1);
  const max = inclusive(limits.max, limits.int, -1);
  return limits.int && min && max ? [min.value, max.value] : undefined;
}

/** What a schema accepts, in words for an error: `an integer from 0 to 65535`, `one of test, val, all`. */
export function describeSchema(schema: z.ZodType): string {
  if (schema.description) return schema.description;
  if (schema instanceof z.ZodEnum) return `one of ${schema.options.join(', ')}`;
  if (schema instanceof z.ZodURL) return 'a URL';
  if (!(schema instanceof z.ZodNumber)) return 'a valid value';
  const { int, ...bounds } = numberLimits(schema);
  const kind = int ? 'an integer' : 'a number';
  const min = inclusive(bounds.min, int, 1);
  const max = inclusive(bounds.max, int, -1);
  if (min?.inclusive && max?.inclusive) return `${kind} from ${min.value} to ${max.value}`;
  const parts = [
    min ? `${min.inclusive ? '>=' : '>'} ${min.value}` : '',
    max ? `${max.inclusive ? '<=' : '<'} ${max.value}` : '',
  ].filter(Boolean);
  return parts.length > 0 ? `${kind} ${parts.join(' and ')}` : kind;
}

/** A value the schema accepts, for a `e.g. --flag value` hint: an enum's first option, a number's lower bound. */
export function exampleOf(schema: z.ZodType): string | undefined {
  if (schema instanceof z.ZodEnum) return String(schema.options[0]);
  if (!(schema instanceof z.ZodNumber)) return undefined;
  const { int, min } = numberLimits(schema);
  const low = inclusive(min, int, 1);
  return low?.inclusive ? String(low.value) : undefined;
}
