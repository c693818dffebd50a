// Test preload: every fs/promises writeFile whose path contains "DISKFULL" writes to /dev/full instead, so
// the CLI meets a real ENOSPC from the kernel (as on a full disk) without filling one.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const original = fs.promises.writeFile;
fs.promises.writeFile = (path, data, options) =>
  original(String(path).includes('DISKFULL') ? '/dev/full' : path, data, options);
syncBuiltinESMExports();
