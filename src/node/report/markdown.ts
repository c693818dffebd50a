import { describeWeights } from '../../core/bundle/meta.js';
import { type ReportData, reportBanners } from '../../core/eval/report-data.js';
import { classCells, hasSensitivityIntervals, headlineVariant, num, pct } from './format.js';
import { HEADLINE_COLUMNS, headlineCells } from './headline.js';

/** The Markdown summary (`report.md`): headline table with intervals and the per-class table. */
export function renderReportMarkdown(data: ReportData): string {
  const headline = headlineVariant(data.variants);
  const lines = [
    `# ${data.title}`,
    '',
    ...reportBanners(data).flatMap((b) => [`> **${b.text}**`, '']),
    `Model **${data.model.name}** (${data.model.backbone}, weights: ${describeWeights(data.model.weights)}) on ${data.data.source}, ` +
      `split \`${data.data.split}\`, ${headline.metrics.count} images. Created ${data.createdAt}.`,
    '',
    ...headlineHead(data),
  ];
  // a fixed-specificity sensitivity is shown only with its bootstrap interval
  const sens = hasSensitivityIntervals(data.variants.map((v) => v.metrics));
  for (const v of data.variants)
    lines.push(`| ${[v.label, ...headlineCells(v.metrics, sens ? '; ' : undefined)].join(' | ')} |`);
  const b = headline.metrics.bootstrap;
  if (b)
    lines.push(
      '',
      `Intervals: ${pct(b.level)} percentile bootstrap, ${b.resamples} resamples of ${b.groups} lesions, seed ${b.seed}.`,
    );
  const notes = data.variants.filter((v) => v.note).map((v) => `- ${v.label}: ${v.note}`);
  if (notes.length > 0) lines.push('', ...notes);
  const m = headline.metrics;
  lines.push(
    '',
    `## Per class (${headline.label})`,
    '',
    '| Class | Images | Precision | Recall | F1 | AUC |',
    '|---|---|---|---|---|---|',
  );
  m.perClass.forEach((c, j) => {
    const cell = classCells(m, j);
    lines.push(
      `| ${c.name} | ${c.support} | ${cell.precision} | ${cell.recall} | ${cell.f1} | ${cell.auc} |`,
    );
  });
  lines.push(
    `| macro avg | | ${pct(m.macro.precision)} | ${pct(m.macro.recall)} | ${pct(m.macro.f1)} | ${num(m.macroAuc)} |`,
  );
  if (data.notes.length > 0) lines.push('', '## Notes', '', ...data.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

/** The headline table's header rows; the sensitivity column only when some variant has its intervals. */
function headlineHead(data: ReportData): string[] {
  const m = headlineVariant(data.variants).metrics;
  const sens = hasSensitivityIntervals(data.variants.map((v) => v.metrics));
  const positive = m.sensitivityAtSpecificity?.positiveClass ?? 'mel';
  return [
    `| | ${HEADLINE_COLUMNS.join(' | ')} |${sens ? ` ${positive} sensitivity at fixed specificity |` : ''}`,
    `|---|${HEADLINE_COLUMNS.map(() => '---|').join('')}${sens ? '---|' : ''}`,
  ];
}
