import type { SubCommandsDef } from 'citty';

/**
 * Every `lesionlab` sub-command, loaded lazily so that `lesionlab inspect` never pays for TensorFlow.js.
 * One line per command; each file under src/cli/ exports one `CommandDef`.
 */
export const COMMANDS: SubCommandsDef = {
  inspect: () => import('./inspect.js').then((m) => m.inspectCommand),
  train: () => import('./train.js').then((m) => m.trainCommand),
  run: () => import('./run.js').then((m) => m.runCommand),
  split: () => import('./split.js').then((m) => m.splitCommand),
  fetch: () => import('./fetch.js').then((m) => m.fetchCommand),
  predict: () => import('./predict.js').then((m) => m.predictCommand),
  serve: () => import('./serve.js').then((m) => m.serveCommand),
  web: () => import('./web.js').then((m) => m.webCommand),
  export: () => import('./export.js').then((m) => m.exportCommand),
  evaluate: () => import('./evaluate.js').then((m) => m.evaluateCommand),
  compare: () => import('./compare.js').then((m) => m.compareCommand),
  prepare: () => import('./prepare.js').then((m) => m.prepareCommand),
  queue: () => import('./queue.js').then((m) => m.queueCommand),
  worker: () => import('./worker.js').then((m) => m.workerCommand),
  'augment-preview': () => import('./augment-preview.js').then((m) => m.augmentPreviewCommand),
};
