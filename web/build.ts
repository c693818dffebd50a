// `npm run build:web`: bundles the page into web/dist (see src/serve/web-build.ts).
import { buildWebPage } from '../src/serve/web-build.js';

const out = await buildWebPage(process.argv[2]);
process.stdout.write(`web page built into ${out}\n`);
