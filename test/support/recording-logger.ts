import type { Logger } from '../../src/core/logger.js';

/** A Logger that keeps what it is told: `infos`, `warnings`, and `lines` (both, in order). */
export interface RecordingLogger extends Logger {
  readonly infos: string[];
  readonly warnings: string[];
  readonly lines: string[];
}

/** A fresh {@link RecordingLogger}. */
export function recordingLogger(): RecordingLogger {
  const infos: string[] = [];
  const warnings: string[] = [];
  const lines: string[] = [];
  return {
    infos,
    warnings,
    lines,
    info: (m) => {
      infos.push(m);
      lines.push(m);
    },
    warn: (m) => {
      warnings.push(m);
      lines.push(m);
    },
  };
}
