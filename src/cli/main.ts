#!/usr/bin/env node
import { defineCommand } from 'citty';
import { COMMANDS } from './commands.js';
import { runCli } from './run-cli.js';

const main = defineCommand({
  meta: {
    name: 'lesionlab',
    version: '0.1.0',
    description: 'Skin-lesion classifiers for HAM10000, in TypeScript',
  },
  subCommands: COMMANDS,
});

await runCli(main);
