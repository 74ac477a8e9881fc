// Scores a generative model as a classifier: for each {"prompt","completion"} row, the greedy answer's
// first word is its predicted label (anything else counts wrong), against the completion's first word.
// Accuracy and macro-F1 over the labels (scikit-learn's f1_score(labels=..., average='macro')).
//
//   node dist/scripts/examples/label_answers.js --model DIR [--adapter DIR] --data FILE [--limit N] [--json]
import { pathToFileURL } from 'node:url';
import { openModel, requireTokenizer } from '../../src/run/model.js';
import { readRows } from '../../src/data/index.js';
import { generate } from '../../src/generate/generate.js';
import { encodePrompt } from '../../src/tokenizers/bos.js';
import { classificationReport, type ClassMetrics } from '../../src/eval/classification_metrics.js';
import { GptuneError } from '../../src/util/errors.js';

export interface LabelAnswerScores {
  n: number;
  labels: string[];
  accuracy: number;
  /** Mean F1 over the labels; an answer that is no label lowers its gold label's recall. */
  macroF1: number;
  perClass: Record<string, ClassMetrics>;
  /** Answers whose first word is no label. */
  other: number;
  /** confusion[gold][pred], the last column for answers that are no label. */
  confusion: number[][];
}

/** The first word of an answer, lowercased, without punctuation around it. */
export const firstWord = (s: string): string => (s.trim().split(/\s+/)[0] ?? '').toLowerCase().replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');

export function labelScores(predicted: readonly string[], gold: readonly string[], labels: readonly string[]): LabelAnswerScores {
  const id = (w: string) => { const i = labels.indexOf(w); return i < 0 ? labels.length : i; };
  const goldIds = gold.map((g) => {
    const i = labels.indexOf(g);
    if (i < 0) throw new GptuneError(`gold label "${g}" is not one of ${labels.join(', ')}`);
    return i;
  });
  const r = classificationReport(predicted.map(id), goldIds, labels.length + 1);
  const perClass = Object.fromEntries(labels.map((l, i) => [l, r.perClass[i]]));
  return {
    n: gold.length, labels: [...labels], accuracy: r.accuracy,
    macroF1: labels.reduce((a, _, i) => a + r.perClass[i].f1, 0) / labels.length,
    perClass, other: predicted.filter((p) => !labels.includes(p)).length, confusion: r.confusion.slice(0, labels.length),
  };
}

export function scoreLabelAnswers(o: { model: string; adapter?: string; data: string; limit?: number; maxNewTokens?: number }): LabelAnswerScores {
  const m = openModel(o.model, { adapter: o.adapter });
  const tok = requireTokenizer(m, 'scoring answers').tokenizer;
  let rows = readRows(o.data).map(({ value, line }) => {
    const r = value as { prompt?: unknown; completion?: unknown };
    if (typeof r.prompt !== 'string' || typeof r.completion !== 'string') throw new GptuneError('a row needs "prompt" and "completion" strings', { file: o.data, line });
    return { prompt: r.prompt, gold: firstWord(r.completion) };
  });
  if (o.limit) rows = rows.slice(0, o.limit);
  const labels = [...new Set(rows.map((r) => r.gold))].sort();
  const predicted = rows.map((r) => {
    const ids = encodePrompt(tok, r.prompt);
    const g = generate(m.model, ids, { maxNewTokens: o.maxNewTokens ?? 4, eosIds: m.eosIds, stopStrings: ['\n'], decode: (x) => tok.decode(x) });
    return firstWord(g.text ?? '');
  });
  return labelScores(predicted, rows.map((r) => r.gold), labels);
}

function main(argv: string[]): void {
  const o: { model?: string; adapter?: string; data?: string; limit?: number; json?: boolean } = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = argv[i + 1];
    if (a === '--json') o.json = true;
    else if ((a === '--model' || a === '--adapter' || a === '--data') && v !== undefined) { o[a.slice(2) as 'model' | 'adapter' | 'data'] = v; i++; }
    else if (a === '--limit' && v !== undefined && /^[1-9]\d*$/.test(v)) { o.limit = parseInt(v, 10); i++; }
    else throw new GptuneError(`unknown argument "${a}"; usage: label_answers --model DIR [--adapter DIR] --data FILE [--limit N] [--json]`);
  }
  if (!o.model || !o.data) throw new GptuneError('--model and --data are required');
  const s = scoreLabelAnswers({ model: o.model, adapter: o.adapter, data: o.data, limit: o.limit });
  if (o.json) { console.log(JSON.stringify(s)); return; }
  console.log(`${s.n} rows: accuracy ${(100 * s.accuracy).toFixed(2)}%, macro-F1 ${(100 * s.macroF1).toFixed(2)}%, ${s.other} answers no label`);
  for (const l of s.labels) {
    const c = s.perClass[l];
    console.log(`  ${l.padEnd(8)} precision ${c.precision.toFixed(3)} recall ${c.recall.toFixed(3)} f1 ${c.f1.toFixed(3)} support ${c.support}`);
  }
  console.log(`confusion (rows gold ${s.labels.join('/')}, columns predicted ${s.labels.join('/')}/other): ${JSON.stringify(s.confusion)}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error(e instanceof GptuneError ? `error: ${e.message}` : e);
    process.exit(1);
  }
}
