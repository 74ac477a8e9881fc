// The readable form of a classifier's eval: the headline numbers, a per-class table (sklearn's
// classification_report layout) and the confusion matrix, gold labels down, predictions across.
import type { ClassificationEvalResult } from '../../run/eval_classification.js';
import type { ClassMetrics } from '../../eval/classification_metrics.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const f3 = (x: number) => x.toFixed(3);

/** Columns left-aligned for the first, right-aligned for the rest. */
function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  return rows.map((r) => r.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ').trimEnd());
}

function perClassTable(first: string, per: Record<string, ClassMetrics>): string[] {
  return table([[first, 'precision', 'recall', 'f1', 'support'],
    ...Object.entries(per).map(([n, c]) => [n, f3(c.precision), f3(c.recall), f3(c.f1), String(c.support)])]);
}

export function formatClassificationEval(r: ClassificationEvalResult): string {
  const lines: string[] = [];
  const cut = r.truncated ? ` (${r.truncated} cut to the max length)` : '';
  if (r.head === 'token_cls') {
    lines.push(`loss ${r.loss.toFixed(4)}  token accuracy ${pct(r.accuracy!)}  macro-F1 ${f3(r.macroF1!)}  over ${r.tokens} labelled tokens in ${r.rows} rows${cut}`);
    if (r.entity) {
      lines.push(`entities: precision ${f3(r.entity.precision)}  recall ${f3(r.entity.recall)}  F1 ${f3(r.entity.f1)}`, '');
      lines.push(...perClassTable('entity', r.entity.perType));
    } else {
      lines.push('entities: not scored (the labels are not IOB2 names such as O, B-PER, I-PER)');
    }
  } else if (r.problemType === 'multi_label_classification') {
    lines.push(`loss ${r.loss.toFixed(4)}  micro-F1 ${f3(r.microF1!)}  macro-F1 ${f3(r.macroF1!)}  (threshold 0.5) over ${r.rows} rows${cut}`);
  } else if (r.problemType === 'regression') {
    lines.push(`loss ${r.loss.toFixed(4)}  MSE ${r.mse!.toFixed(4)}  Pearson ${Number.isNaN(r.pearson) ? 'n/a' : f3(r.pearson!)}  over ${r.rows} rows${cut}`);
  } else {
    lines.push(`loss ${r.loss.toFixed(4)}  accuracy ${pct(r.accuracy!)}  macro-F1 ${f3(r.macroF1!)}  over ${r.rows} rows${cut}`);
  }
  if (r.perClass && r.confusionMatrix) {
    lines.push('', ...perClassTable('label', r.perClass), '');
    lines.push('confusion matrix (rows: gold, columns: predicted)');
    lines.push(...table([['', ...r.labels], ...r.confusionMatrix.map((row, i) => [r.labels[i], ...row.map(String)])]));
  }
  return lines.join('\n');
}
