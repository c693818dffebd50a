// `npm run build:web`: bundles the page into web/dist (see src/node/web/build-page.ts, which
// `lesionlab web --rebuild` also runs).
import { buildWebPage } from '../src/node/web/build-page.js';

const out = await buildWebPage(process.argv[2]);
process.stdout.write(`web page built into ${out}\n`);
