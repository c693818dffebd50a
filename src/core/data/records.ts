/** One labelled image of a dataset, whatever layout it came from. */
export interface ImageRecord {
  /** Unique id within the dataset (HAM10000: `ISIC_0027419`). */
  readonly imageId: string;
  /** Class label as written in the source (HAM10000: a dx code). */
  readonly label: string;
  /** Grouping key for splits: images of one group never straddle splits (HAM10000: `lesion_id`). */
  readonly groupId: string;
  /** Absolute path of the image file. */
  readonly path: string;
  /** Any other columns of the source row (dx_type, age, sex, localization, ...). */
  readonly meta?: Readonly<Record<string, string>>;
}

/** The layouts lesionlab reads. */
export type DatasetFormat = 'ham10000' | 'folder-per-class' | 'generic-csv' | 'isic-onehot';

/** One problem found while reading a dataset: the row or file it concerns and what is wrong. */
export interface DataIssue {
  readonly kind:
    | 'missing-image'
    | 'corrupt-image'
    | 'duplicate-image-id'
    | 'unknown-label'
    | 'empty-group'
    | 'orphan-image'
    | 'bad-row';
  /** Image id, file path or `line N` the issue is about. */
  readonly subject: string;
  readonly detail: string;
}

/**
 * Where a dataset's `groupId`s come from: a source column (lesion, patient, ...), or one group per image
 * because the source has no group column (`searched` lists the column names looked for, if any). Splits of
 * an image-grouped dataset may put images of one lesion in both train and test, so they need a confirmation.
 */
export type DatasetGrouping =
  | { readonly by: 'column'; readonly column: string }
  | { readonly by: 'image'; readonly reason: string; readonly searched?: readonly string[] };

/** A dataset read and validated: the usable records, the class list, and what was skipped. */
export interface Dataset {
  readonly root: string;
  readonly format: DatasetFormat;
  /** How `groupId` was set; see {@link DatasetGrouping}. */
  readonly grouping: DatasetGrouping;
  /** Class names in a fixed order; a model's output index i is `classes[i]`. */
  readonly classes: readonly string[];
  readonly records: readonly ImageRecord[];
  readonly issues: readonly DataIssue[];
  /**
   * Image ids of every row matched to an image file, before the image check left out unreadable ones: what a
   * split file's fingerprint covers, so that the check mode (`--decode`, `--no-check-images`) never changes it.
   * Absent: the ids of `records`.
   */
  readonly matchedIds?: readonly string[];
}

/** The three parts of a hold-out split. */
export type SplitName = 'train' | 'val' | 'test';

/** Image ids of each part of a split; written to and read from a split file. */
export interface SplitAssignment {
  readonly train: readonly string[];
  readonly val: readonly string[];
  readonly test: readonly string[];
}
