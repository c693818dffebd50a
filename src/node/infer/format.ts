import { expectedOneOf } from '../../core/errors.js';
import { csvCell } from '../../core/format/csv.js';
import { type ClassScore, topK } from '../../core/infer/rank.js';
import type { FileClassification } from './classifier.js';

/** How the rows were scored, for each output to say: views averaged, density rule, metadata. */
export interface PredictionContext {
  /** Exact views averaged per image, e.g. `['identity', 'flip_h']`. */
  readonly views: readonly string[];
  /** True when the bundle's pixel-density rule was applied. */
  readonly density: boolean;
}
// Whether lesion metadata was used is per row (`FileClassification.metadata`): CSV column `metadata` yes/no,
// JSON field `metadata`.

function contextCells(context: PredictionContext): [string, string] {
  return [context.views.join('+'), context.density ? 'on' : 'off'];
}

/** Formats prediction rows one at a time, so output can stream; `header()` comes first (may be empty). */
export interface PredictionFormatter {
  header(): string;
  row(result: FileClassification): string;
}

/** Builds a formatter for the top `k` classes of `classes`, saying how rows were scored when given `context`. */
type FormatterFactory = (
  classes: readonly string[],
  k: number,
  context?: PredictionContext,
) => PredictionFormatter;

function scores(result: FileClassification, classes: readonly string[], k: number): ClassScore[] | undefined {
  return 'probabilities' in result ? topK(result.probabilities, classes, k) : undefined;
}

const tableFormatter: FormatterFactory = (classes, k, context) => {
  const ranks = Array.from({ length: k }, (_, i) => `top${i + 1}`.padEnd(16));
  const [views, density] = context ? contextCells(context) : ['', ''];
  const note = context ? `# views ${views}; density rule ${density}\n` : '';
  return {
    header: () => `${note}${`${'image'.padEnd(28)} ${ranks.join(' ')}`.trimEnd()}`,
    row: (r) => {
      const name = r.path.split(/[\\/]/).pop() ?? r.path;
      const s = scores(r, classes, k);
      if (!s) return `${name.padEnd(28)} ERROR: ${'error' in r ? r.error : ''}`;
      return `${name.padEnd(28)} ${s.map((c) => `${c.label} ${c.probability.toFixed(3)}`.padEnd(16)).join(' ')}`.trimEnd();
    },
  };
};

const csvFormatter: FormatterFactory = (classes, k, context) => {
  const cols = Array.from({ length: k }, (_, i) => `label_${i + 1},prob_${i + 1}`);
  const extra = context ? contextCells(context) : [];
  return {
    header: () => ['path', ...cols, ...(context ? ['views', 'density', 'metadata'] : []), 'error'].join(','),
    row: (r) => {
      const s = scores(r, classes, k);
      const cells = Array.from({ length: k }, (_, i) =>
        s?.[i] ? `${csvCell(s[i].label)},${s[i].probability.toFixed(6)}` : ',',
      );
      const used = context ? ['probabilities' in r && r.metadata ? 'yes' : 'no'] : [];
      return [csvCell(r.path), ...cells, ...extra, ...used, csvCell('error' in r ? r.error : '')].join(',');
    },
  };
};

const jsonlFormatter: FormatterFactory = (classes, k, context) => {
  const how = context ? { views: [...context.views], density: context.density } : {};
  return {
    header: () => '',
    row: (r) => {
      if ('error' in r) return JSON.stringify({ path: r.path, error: r.error });
      const probabilities = Object.fromEntries(classes.map((c, i) => [c, r.probabilities[i]]));
      const used = context ? { metadata: r.metadata === true } : {};
      return JSON.stringify({
        path: r.path,
        top: topK(r.probabilities, classes, k),
        probabilities,
        ...how,
        ...used,
      });
    },
  };
};

const FORMATTERS = { table: tableFormatter, csv: csvFormatter, jsonl: jsonlFormatter } as const;

/** Output formats of `lesionlab predict`. */
export type PredictFormat = keyof typeof FORMATTERS;

/** Valid output formats (the default first), for CLI choices and error messages. */
export const PREDICT_FORMATS = Object.keys(FORMATTERS) as readonly PredictFormat[];

/**
 * A streaming formatter for `format`, showing the top `k` classes of `classes`; with `context`, every output
 * says how it was scored (CSV columns `views`,`density`; JSON fields; a `#` line above the table).
 */
export function createFormatter(
  format: PredictFormat,
  classes: readonly string[],
  k: number,
  context?: PredictionContext,
): PredictionFormatter {
  const factory = FORMATTERS[format];
  if (!factory) {
    throw expectedOneOf(PREDICT_FORMATS, {
      where: 'the prediction format',
      received: format,
      fix: 'pick one of those',
      code: 'E_CONFIG',
    });
  }
  return factory(classes, Math.max(1, Math.min(k, classes.length)), context);
}
