import { LesionlabError } from '../errors.js';

/**
 * Lesion metadata the head may use: patient age (years), sex and the lesion's anatomical site. Any field may be
 * missing. HAM10000's `dx_type` (how the diagnosis was confirmed) is never read: it leaks the label.
 */
export interface LesionMetadata {
  readonly age?: number;
  readonly sex?: 'male' | 'female';
  readonly site?: string;
}

/** Anatomical sites of HAM10000 (`localization`, without `unknown`), in encoding order. */
export const HAM10000_SITES: readonly string[] = [
  'abdomen',
  'acral',
  'back',
  'chest',
  'ear',
  'face',
  'foot',
  'genital',
  'hand',
  'lower extremity',
  'neck',
  'scalp',
  'trunk',
  'upper extremity',
];

/**
 * Width of the encoded vector: site one-hot + site-missing, sex male/female + sex-missing, age/100 + age-missing.
 * A missing field is explicit (its flag 1, its values 0), never imputed.
 */
export const METADATA_WIDTH = HAM10000_SITES.length + 1 + 3 + 2;

/** Source columns read for metadata (`dx_type` deliberately absent). */
export const METADATA_COLUMNS = ['age', 'sex', 'localization'] as const;

/**
 * Metadata of one image from its source row (HAM10000 columns `age`, `sex`, `localization`); empty, `unknown`
 * or unparsable values are missing. Throws `E_INPUT` for a site outside {@link HAM10000_SITES}.
 */
export function parseLesionMetadata(row: Readonly<Record<string, string>> | undefined): LesionMetadata {
  if (!row) return {};
  const age = Number.parseFloat(row.age ?? '');
  const sex = (row.sex ?? '').trim().toLowerCase();
  const site = (row.localization ?? row.site ?? '').trim().toLowerCase();
  if (site !== '' && site !== 'unknown' && !HAM10000_SITES.includes(site)) {
    throw new LesionlabError(
      'E_INPUT',
      `metadata localization "${site}": not a known site; use one of ${HAM10000_SITES.join(', ')} or leave it empty`,
    );
  }
  return {
    ...(Number.isFinite(age) && age >= 0 && age <= 120 ? { age } : {}),
    ...(sex === 'male' || sex === 'female' ? { sex } : {}),
    ...(site !== '' && site !== 'unknown' ? { site } : {}),
  };
}

/** Encodes metadata as {@link METADATA_WIDTH} floats (see there); `{}` encodes "all metadata absent". */
export function encodeMetadata(m: LesionMetadata): Float32Array {
  const out = new Float32Array(METADATA_WIDTH);
  const s = HAM10000_SITES.length;
  const site = m.site === undefined ? -1 : HAM10000_SITES.indexOf(m.site);
  out[site >= 0 ? site : s] = 1;
  out[m.sex === 'male' ? s + 1 : m.sex === 'female' ? s + 2 : s + 3] = 1;
  if (m.age === undefined) out[s + 5] = 1;
  else out[s + 4] = m.age / 100;
  return out;
}

/** How often metadata is hidden in training, so the head learns to work with a field or all of it missing. */
export interface MetadataDropout {
  /** Probability that all metadata of an image is hidden. */
  readonly all: number;
  /** Probability that each remaining field is hidden on its own. */
  readonly field: number;
}

/** `m` with fields hidden at random per `dropout` (draws from `rng`: one for all, one per field). */
export function dropMetadata(m: LesionMetadata, dropout: MetadataDropout, rng: () => number): LesionMetadata {
  const all = rng() < dropout.all;
  const keep = [rng() >= dropout.field, rng() >= dropout.field, rng() >= dropout.field];
  if (all) return {};
  return {
    ...(keep[0] && m.age !== undefined ? { age: m.age } : {}),
    ...(keep[1] && m.sex !== undefined ? { sex: m.sex } : {}),
    ...(keep[2] && m.site !== undefined ? { site: m.site } : {}),
  };
}
