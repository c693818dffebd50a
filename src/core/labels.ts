/** The seven HAM10000 diagnosis codes, in the order the dataset's papers list them (alphabetical). */
export const HAM10000_CLASSES = ['akiec', 'bcc', 'bkl', 'df', 'mel', 'nv', 'vasc'] as const;

/** One HAM10000 diagnosis code. */
export type DxCode = (typeof HAM10000_CLASSES)[number];

/** Human-readable names of the diagnosis codes. */
export const DX_NAMES: Readonly<Record<DxCode, string>> = {
  akiec: 'Actinic keratosis / intraepithelial carcinoma',
  bcc: 'Basal cell carcinoma',
  bkl: 'Benign keratosis-like lesion',
  df: 'Dermatofibroma',
  mel: 'Melanoma',
  nv: 'Melanocytic nevus',
  vasc: 'Vascular lesion',
};

/** True when `value` is one of the seven HAM10000 codes. */
export function isDxCode(value: string): value is DxCode {
  return (HAM10000_CLASSES as readonly string[]).includes(value);
}
