import { z } from 'zod';
import { expectedOneOf } from '../errors.js';
import type { DatasetFormat } from './records.js';

/** Format names accepted by `loadDataset` and the CLI: the full names plus short aliases. */
export const FORMAT_ALIASES: Readonly<Record<string, DatasetFormat | 'auto'>> = {
  auto: 'auto',
  ham10000: 'ham10000',
  folder: 'folder-per-class',
  'folder-per-class': 'folder-per-class',
  csv: 'generic-csv',
  'generic-csv': 'generic-csv',
  isic: 'isic-onehot',
  'isic-onehot': 'isic-onehot',
};

/** The short name of each format, as the CLI lists them: `auto, ham10000, folder, csv, isic`. */
export const FORMAT_NAMES: readonly string[] = Object.keys(FORMAT_ALIASES).filter(
  (name, i, names) => names.findIndex((other) => FORMAT_ALIASES[other] === FORMAT_ALIASES[name]) === i,
);

/** The format a name of {@link FORMAT_ALIASES} stands for; an unknown name is an E_CONFIG error listing the names. */
export function formatOfName(name: string): DatasetFormat | 'auto' {
  const format = FORMAT_ALIASES[name];
  if (format === undefined) {
    throw expectedOneOf(FORMAT_NAMES, {
      code: 'E_CONFIG',
      where: 'the dataset format',
      received: name,
      fix: 'e.g. --format auto',
    });
  }
  return format;
}

/** A format name as `loadDataset` and the CLI's `--format` take it: any key of {@link FORMAT_ALIASES}. */
export const FormatNameSchema = z.enum(Object.keys(FORMAT_ALIASES) as [string, ...string[]]);

/** The plain-data part of `loadDataset`'s options, validated at the edge. */
export const LoadOptionsSchema = z
  .object({
    format: FormatNameSchema.optional(),
    metadata: z.string().min(1).optional(),
    images: z.string().min(1).optional(),
    columns: z
      .object({
        image: z.string().min(1).optional(),
        label: z.string().min(1).optional(),
        group: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    /** true: each image's header; `'decode'`: decode every image in full (finds truncated files); false: none. */
    checkImages: z.union([z.boolean(), z.literal('decode')]).optional(),
    orphans: z.boolean().optional(),
    strict: z.boolean().optional(),
    concurrency: z.number().int().min(1).max(256).optional(),
  })
  .strict();

/** Validated load options (see {@link LoadOptionsSchema}). */
export type LoadOptions = z.infer<typeof LoadOptionsSchema>;
