import { describeWeights } from '../../core/bundle/meta.js';
import type { ChartSpec } from '../../core/eval/charts.js';
import { type ReportData, type ReportVariant, reportBanners } from '../../core/eval/report-data.js';
import { DX_NAMES, isDxCode } from '../../core/labels.js';
import {
  classCells,
  escapeHtml as esc,
  hasSensitivityIntervals,
  headlineVariant,
  num,
  pct,
} from './format.js';
import { HEADLINE_COLUMNS, headlineCells } from './headline.js';
import { REPORT_CSS } from './style.js';

/** A chart spec with its SVG, rendered beforehand (see renderChartSvg). */
export interface RenderedChart {
  readonly chart: ChartSpec;
  readonly svg: string;
}

/**
 * The report page: a self-contained HTML string (inline CSS, inline SVG charts, base64 thumbnails; no
 * scripts, no external requests). `thumbnails` maps image ids of the error gallery to data: URIs.
 */
export function renderReportHtml(
  data: ReportData,
  charts: readonly RenderedChart[],
  thumbnails: ReadonlyMap<string, string>,
): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(data.title)}</title>
<style>${REPORT_CSS}</style></head>
<body><main>
${banners(data)}
${header(data)}
${headlineTable(data.variants)}
${perClassTable(headlineVariant(data.variants))}
<section><h2>Charts</h2><div class="charts">${charts.map(chartFigure).join('\n')}</div></section>
${gallery(data, thumbnails)}
${notes(data)}
</main></body></html>
`;
}

/** Warnings above everything else: random, unrecorded or truncated weights; a smoke-test sample. */
function banners(data: ReportData): string {
  return reportBanners(data)
    .map((b) => `<div class="banner" role="alert" data-banner="${b.kind}">${esc(b.text)}</div>`)
    .join('\n');
}

function header(data: ReportData): string {
  const m = headlineVariant(data.variants).metrics;
  return `<header><h1>${esc(data.title)}</h1>
<p class="meta"><b>Model</b> ${esc(data.model.name)} (${esc(data.model.backbone)}) &middot; <b>Weights</b> ${esc(describeWeights(data.model.weights))} &middot; <b>Data</b> ${esc(data.data.source)}
 &middot; <b>Split</b> ${esc(data.data.split)} &middot; <b>Images</b> ${m.count}${data.data.format ? ` &middot; <b>Format</b> ${esc(data.data.format)}` : ''}
 &middot; <b>Created</b> ${esc(data.createdAt)}</p></header>`;
}

function headlineTable(variants: readonly ReportVariant[]): string {
  // a fixed-specificity sensitivity is shown only with its bootstrap interval
  const mel = hasSensitivityIntervals(variants.map((v) => v.metrics))
    ? headlineVariant(variants).metrics.sensitivityAtSpecificity
    : null;
  const melHead = mel ? `<th>${esc(mel.positiveClass)} sensitivity<br>at fixed specificity</th>` : '';
  const rows = variants.map((v) => {
    const [balanced, accuracy, auc, top2, top3, logLoss, ece, points] = headlineCells(
      v.metrics,
      mel ? '<br>' : undefined,
    );
    const melCell = points === undefined ? '' : `<td class="points">${points}</td>`;
    return `<tr><th scope="row">${esc(v.label)}${v.note ? `<div class="note">${esc(v.note)}</div>` : ''}</th>
<td class="key">${balanced}</td><td>${accuracy}</td>
<td>${auc}</td><td>${top2}</td><td>${top3}</td>
<td>${logLoss}</td><td>${ece}</td>${melCell}</tr>`;
  });
  const b = headlineVariant(variants).metrics.bootstrap;
  const ciNote = b
    ? `Brackets: ${pct(b.level)} percentile bootstrap intervals from ${b.resamples} resamples of ${b.groups} lesions (seed ${b.seed}).`
    : 'No bootstrap intervals were computed.';
  return `<section><h2>Headline</h2><div class="scroll"><table class="headline"><thead><tr><th></th>
${HEADLINE_COLUMNS.map((c) => `<th>${c}</th>`).join('')}${melHead}</tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div><p class="caption">${ciNote} Balanced accuracy is the mean per-class recall (the ISIC 2018 metric).</p></section>`;
}

function perClassTable(variant: ReportVariant): string {
  const m = variant.metrics;
  const rows = m.perClass.map((c, j) => {
    const full = isDxCode(c.name) ? DX_NAMES[c.name] : '';
    const cell = classCells(m, j);
    return `<tr><th scope="row">${esc(c.name)}<div class="note">${esc(full)}</div></th><td>${c.support}</td>
<td>${cell.precision}</td><td class="key">${cell.recall}</td><td>${cell.f1}</td><td>${cell.auc}</td></tr>`;
  });
  const avg = (label: string, a: { precision: number; recall: number; f1: number }, support: string) =>
    `<tr class="avg"><th scope="row">${label}</th><td>${support}</td><td>${pct(a.precision)}</td><td>${pct(a.recall)}</td><td>${pct(a.f1)}</td><td>${label === 'macro avg' ? num(m.macroAuc) : ''}</td></tr>`;
  return `<section><h2>Per class <span class="sub">(${esc(variant.label)})</span></h2><div class="scroll"><table>
<thead><tr><th>Class</th><th>Images</th><th>Precision</th><th>Recall</th><th>F1</th><th>AUC</th></tr></thead>
<tbody>${rows.join('\n')}${avg('macro avg', m.macro, '')}${avg('weighted avg', m.weighted, String(m.count))}</tbody></table></div></section>`;
}

function chartFigure({ chart, svg }: RenderedChart): string {
  return `<figure class="chart" data-chart="${esc(chart.id)}"><figcaption><b>${esc(chart.title)}</b></figcaption>
${svg}<p class="caption">${esc(chart.caption)}</p></figure>`;
}

function gallery(data: ReportData, thumbnails: ReadonlyMap<string, string>): string {
  if (data.errors.length === 0) return '<section><h2>Most confident errors</h2><p>No errors.</p></section>';
  const cards = data.errors.map((e) => {
    const src = thumbnails.get(e.imageId);
    const img = src
      ? `<img src="${src}" alt="${esc(e.imageId)}">`
      : '<div class="noimg">image unavailable</div>';
    return `<figure class="card">${img}<figcaption><b>${esc(e.imageId)}</b><br>true <b>${esc(e.label)}</b> (${pct(e.labelProbability)})<br>
predicted <b class="bad">${esc(e.predicted)}</b> (${pct(e.confidence)})</figcaption></figure>`;
  });
  return `<section><h2>Most confident errors <span class="sub">(${esc(headlineVariant(data.variants).label)})</span></h2>
<div class="gallery">${cards.join('\n')}</div></section>`;
}

function notes(data: ReportData): string {
  if (data.notes.length === 0) return '';
  return `<section><h2>Notes</h2><ul>${data.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></section>`;
}
