/** Where libraries send progress and messages; only the CLI decides how (or whether) to print them. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug?(message: string): void;
}

/** A logger that drops everything: the default for library calls. */
export const silentLogger: Logger = { info: () => {}, warn: () => {} };

/** Progress of a long task (decoding, feature extraction, epochs): `done` of `total` units. */
export type ProgressHook = (done: number, total: number, label?: string) => void;
