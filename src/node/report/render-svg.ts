import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { expected } from '../../core/errors.js';

/**
 * Compiles a vega-lite spec and renders it to a standalone SVG string in Node (vega's headless view, no
 * browser, no network): the report embeds these SVGs inline so it opens offline without any script.
 */
export async function renderChartSvg(spec: TopLevelSpec): Promise<string> {
  let view: vega.View | undefined;
  try {
    const compiled = compile(spec).spec;
    view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
    return await view.toSVG();
  } catch (error) {
    throw expected({
      what: 'a vega-lite spec that renders',
      where: 'a report chart',
      received: `one whose rendering failed (${(error as Error).message})`,
      code: 'E_INPUT',
      cause: error,
    });
  } finally {
    view?.finalize();
  }
}
