import { DEFAULT_QUEUE } from '../../queue/index.js';
import { textFlag } from './table.js';

/** The Redis queue of `queue` and `worker`. */
export function queueFlags(queueDescription: string) {
  return {
    redis: textFlag({ description: 'Redis URL', default: 'redis://127.0.0.1:6379' }),
    queue: textFlag({ description: queueDescription, default: DEFAULT_QUEUE }),
  } as const;
}
