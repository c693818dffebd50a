import type { Logger } from '../core/logger.js';

/** The CLI's logger: info to stdout, warnings to stderr, debug only with LESIONLAB_DEBUG=1. */
export const consoleLogger: Logger = {
  info: (message) => process.stdout.write(`${message}\n`),
  warn: (message) => process.stderr.write(`warning: ${message}\n`),
  debug: (message) => {
    if (process.env.LESIONLAB_DEBUG === '1') process.stderr.write(`debug: ${message}\n`);
  },
};
