import { type ComparisonData, comparisonBanners, type PairwiseTest } from '../../core/eval/compare.js';
import { at } from '../../core/util/at.js';
import { classCells, escapeHtml as esc, num, numWithCi, pctWithCi } from '../report/format.js';
import type { RenderedChart } from '../report/html.js';
import { REPORT_CSS } from '../report/style.js';

function cost(value: number | null | undefined, digits: number, unit = ''): string {
  return value === null || value === undefined ? '\u2014' : `${value.toFixed(digits)}${unit}`;
}

function pValue(p: number): string {
  return p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}

/** The weights label under a model's name; random or unrecorded weights stand out. */
function weightsNote(label: string | undefined): string {
  if (!label) return '';
  const warn = !label.startsWith('ImageNet');
  return `, weights: ${warn ? `<b class="bad">${esc(label)}</b>` : esc(label)}`;
}

function modelTable(data: ComparisonData): string {
  const rows = data.models.map((m) => {
    const b = m.metrics.bootstrap ?? undefined;
    const params =
      m.parameters === null || m.parameters === undefined ? '\u2014' : `${(m.parameters / 1e6).toFixed(2)} M`;
    return `<tr><th scope="row">${esc(m.name)}<div class="note">${esc(m.backbone)}${weightsNote(m.weights)}</div></th>
<td class="key">${pctWithCi(m.metrics.balancedAccuracy, b?.balancedAccuracy)}</td><td>${pctWithCi(m.metrics.accuracy, b?.accuracy)}</td>
<td>${numWithCi(m.metrics.macroAuc, b?.macroAuc)}</td><td>${m.metrics.count}</td><td>${params}</td><td>${cost(m.gmacs, 2)}</td>
<td>${cost(m.imagesPerSecond, 1)}</td><td>${cost(m.trainSeconds, 0, ' s')}</td></tr>`;
  });
  return `<section><h2>Models</h2><div class="scroll"><table><thead><tr><th>Model</th><th>Balanced accuracy</th><th>Accuracy</th>
<th>Macro AUC</th><th>Test images</th><th>Parameters</th><th>GMACs</th><th>Images/s</th><th>Training time</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>
<p class="caption">Brackets: 95% lesion-level bootstrap intervals. GMACs: multiply-accumulates per image (10^9). Images/s: ONNX Runtime inference on this machine, decoding excluded.</p></section>`;
}

function recallTable(data: ComparisonData): string {
  const head = data.models.map((m) => `<th>${esc(m.name)}</th>`).join('');
  const rows = data.classes.map((c, j) => {
    const support = at(at(data.models, 0).metrics.perClass, j).support;
    const recalls = data.models.map((m) => at(m.metrics.perClass, j).recall);
    const best = Math.max(...recalls);
    const cells = data.models
      .map((m, i) => {
        const text = classCells(m.metrics, j).recall;
        return `<td${recalls[i] === best && best > 0 && text !== '\u2014' ? ' class="key"' : ''}>${text}</td>`;
      })
      .join('');
    return `<tr><th scope="row">${esc(c)}</th><td>${support}</td>${cells}</tr>`;
  });
  return `<section><h2>Recall per class</h2><div class="scroll"><table><thead><tr><th>Class</th><th>Images</th>${head}</tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div></section>`;
}

/** How each McNemar method reads in the report. */
const METHOD_TEXT: Readonly<Record<PairwiseTest['method'], string>> = {
  'exact-binomial': 'exact binomial',
  'chi-square-cc': 'chi-square (continuity-corrected)',
  'exact-sign-flip': 'exact, by lesion (sign flips)',
  'clustered-chi-square': 'chi-square, by lesion (Durkalski)',
};

/** What the McNemar table's methods mean, under the table. */
const MCNEMAR_CAPTION =
  "A lesion's images are not independent: when a lesion has several test images, the test is clustered by lesion (each lesion's difference, only A right minus only B right, is flipped in sign as a whole: exact below 25 discordant lesions, otherwise Durkalski et al.'s chi-square, without continuity correction). With one image per lesion, or evaluations without lesion ids (or whose ids disagree), it is the test on images: exact binomial below 25 discordant images, otherwise chi-square with continuity correction. Holm: the p-value adjusted for the number of pairs compared (Holm–Bonferroni); reading 'different' only where it is below 0.05 keeps the chance of any false 'different' among all the pairs at most 5%. With one pair it equals the p-value.";

function mcnemarTable(data: ComparisonData): string {
  const rows = data.pairwise.map(
    (
      t,
    ) => `<tr><th scope="row">${esc(t.modelA)} vs ${esc(t.modelB)}</th><td>${t.images}</td><td>${t.lesions ?? '\u2014'}</td><td>${t.b}</td><td>${t.c}</td>
<td>${METHOD_TEXT[t.method]}</td><td>${t.statistic === null ? '\u2014' : num(t.statistic, 2)}</td>
<td>${pValue(t.pValue)}</td><td class="${t.holmPValue < 0.05 ? 'key' : ''}">${pValue(t.holmPValue)}</td></tr>`,
  );
  return `<section><h2>McNemar tests (pairwise, same test images)</h2><div class="scroll"><table><thead><tr><th>Pair</th><th>Images</th><th>Lesions</th>
<th>Only A right</th><th>Only B right</th><th>Method</th><th>&chi;&sup2;</th><th>p-value</th><th>p (Holm)</th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div>
<p class="caption">${esc(MCNEMAR_CAPTION)}</p></section>`;
}

/** The comparison page: self-contained HTML (inline CSS and SVG, no scripts, no external requests). */
export function renderComparisonHtml(data: ComparisonData, charts: readonly RenderedChart[]): string {
  const figures = charts
    .map(
      ({ chart, svg }) =>
        `<figure class="chart" data-chart="${esc(chart.id)}"><figcaption><b>${esc(chart.title)}</b></figcaption>${svg}<p class="caption">${esc(chart.caption)}</p></figure>`,
    )
    .join('\n');
  const notes = data.notes.length
    ? `<section><h2>Notes</h2><ul>${data.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></section>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(data.title)}</title><style>${REPORT_CSS}</style></head><body><main>
${comparisonBanners(data)
  .map((b) => `<div class="banner" role="alert" data-banner="${b.kind}">${esc(b.text)}</div>`)
  .join('\n')}
<header><h1>${esc(data.title)}</h1><p class="meta"><b>Models</b> ${data.models.length} &middot; <b>Created</b> ${esc(data.createdAt)}</p></header>
${modelTable(data)}
${recallTable(data)}
${mcnemarTable(data)}
<section><h2>Charts</h2><div class="charts">${figures}</div></section>
${notes}
</main></body></html>
`;
}

/** The comparison's Markdown summary. */
export function renderComparisonMarkdown(data: ComparisonData): string {
  const lines = [
    `# ${data.title}`,
    '',
    ...comparisonBanners(data).flatMap((b) => [`> **${b.text}**`, '']),
    '| Model | Weights | Balanced accuracy | Accuracy | Macro AUC | Parameters | GMACs | Images/s | Training |',
    '|---|---|---|---|---|---|---|---|---|',
    ...data.models.map((m) => {
      const b = m.metrics.bootstrap ?? undefined;
      const params = m.parameters ? `${(m.parameters / 1e6).toFixed(2)} M` : '\u2014';
      return `| ${m.name} | ${m.weights ?? '\u2014'} | ${pctWithCi(m.metrics.balancedAccuracy, b?.balancedAccuracy)} | ${pctWithCi(m.metrics.accuracy, b?.accuracy)} | ${numWithCi(m.metrics.macroAuc, b?.macroAuc)} | ${params} | ${cost(m.gmacs, 2)} | ${cost(m.imagesPerSecond, 1)} | ${cost(m.trainSeconds, 0, ' s')} |`;
    }),
    '',
    '## Recall per class',
    '',
    `| Class | ${data.models.map((m) => m.name).join(' | ')} |`,
    `|---|${data.models.map(() => '---|').join('')}`,
    ...data.classes.map(
      (c, j) => `| ${c} | ${data.models.map((m) => classCells(m.metrics, j).recall).join(' | ')} |`,
    ),
    '',
    '## McNemar tests',
    '',
    '| Pair | Images | Lesions | Only A right | Only B right | Method | p-value | p (Holm) |',
    '|---|---|---|---|---|---|---|---|',
    ...data.pairwise.map(
      (t) =>
        `| ${t.modelA} vs ${t.modelB} | ${t.images} | ${t.lesions ?? '\u2014'} | ${t.b} | ${t.c} | ${METHOD_TEXT[t.method]} | ${pValue(t.pValue)} | ${pValue(t.holmPValue)} |`,
    ),
    '',
    MCNEMAR_CAPTION,
  ];
  if (data.notes.length > 0) lines.push('', '## Notes', '', ...data.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}
