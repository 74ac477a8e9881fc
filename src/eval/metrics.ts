// Text metrics on generated answers against references, computed the way Hugging Face `evaluate`
// users know them: SQuAD's exact match and token F1, and ROUGE-L as Google's rouge_score gives it.
import { GptuneError } from '../util/errors.js';

/** A reference, or several (the score is the best over them, as SQuAD scores multiple gold answers). */
export type Reference = string | readonly string[];

// A "word" character as Python 3's re \w sees one in a str pattern (Unicode letters, numbers, _),
// so "\b(a|an|the)\b" removes the same articles here as in SQuAD's evaluate-v1.1.py.
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;
// Python's string.punctuation: ASCII only, so "é" or "’" survive normalisation, as they do there.
const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

/** SQuAD's normalize_answer: lowercase, drop punctuation, drop articles a/an/the, collapse whitespace. */
export function normalizeAnswer(s: string): string {
  const t = s.toLowerCase().replace(PUNCTUATION, '').replace(ARTICLES, ' ');
  return t.split(/\s+/).filter((w) => w !== '').join(' ');
}

function best(ref: Reference, score: (r: string) => number): number {
  if (typeof ref === 'string') return score(ref);
  if (ref.length === 0) throw new GptuneError('no reference to score against: the list of references is empty');
  return Math.max(...ref.map(score));
}

/** 1 when pred and ref are equal after normalizeAnswer, else 0 (SQuAD exact_match, as a fraction). */
export function exactMatch(pred: string, ref: Reference): number {
  const p = normalizeAnswer(pred);
  return best(ref, (r) => (p === normalizeAnswer(r) ? 1 : 0));
}

/**
 * 1 when the normalised reference occurs in the normalised prediction as a run of whole words, else 0.
 * Whole words, so the answer "2 years" is not found in "12 years".
 */
export function containsAnswer(pred: string, ref: Reference): number {
  const p = ` ${normalizeAnswer(pred)} `;
  return best(ref, (r) => {
    const a = normalizeAnswer(r);
    return a === '' || p.includes(` ${a} `) ? 1 : 0; // an empty answer is in everything, as "" in s is in Python
  });
}

/** SQuAD's f1_score: harmonic mean of precision and recall of the normalised words, counted with multiplicity. */
export function tokenF1(pred: string, ref: Reference): number {
  const p = normalizeAnswer(pred).split(' ').filter((w) => w !== '');
  return best(ref, (r) => {
    const g = normalizeAnswer(r).split(' ').filter((w) => w !== '');
    const counts = new Map<string, number>();
    for (const w of g) counts.set(w, (counts.get(w) ?? 0) + 1);
    let common = 0;
    for (const w of p) {
      const c = counts.get(w) ?? 0;
      if (c > 0) { common++; counts.set(w, c - 1); }
    }
    if (common === 0) return 0;
    return fmeasure(common / p.length, common / g.length);
  });
}

/** rouge_score's default tokenizer: lowercase, every run of non-[a-z0-9] becomes a space, split. */
export function rougeTokenize(s: string): string[] {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, ' ').split(/\s+/).filter((w) => w !== '');
}

/** Length of the longest common subsequence of two token lists (two-row dynamic programme). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  let prev = new Int32Array(b.length + 1), cur = new Int32Array(b.length + 1); // (len(b)+1,)
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

export interface RougeScore { precision: number; recall: number; fmeasure: number }

function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

/**
 * ROUGE-L of a prediction against one reference, as rouge_score's RougeScorer(['rougeL']).score(ref, pred):
 * precision = LCS / len(pred), recall = LCS / len(ref); all zero when either has no tokens.
 */
export function rougeLScore(pred: string, ref: string): RougeScore {
  const p = rougeTokenize(pred), r = rougeTokenize(ref);
  if (p.length === 0 || r.length === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  const lcs = lcsLength(r, p);
  const precision = lcs / p.length, recall = lcs / r.length;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** ROUGE-L F-measure (beta 1, no stemming): the number `evaluate`'s "rouge" reports as rougeL. Best over several references. */
export function rougeL(pred: string, ref: Reference): number {
  return best(ref, (r) => rougeLScore(pred, r).fmeasure);
}

/** The scores of one generated answer. */
export interface CompletionScores {
  exact_match: number;
  contains_answer: number;
  f1: number;
  rougeL: number;
}

/**
 * Every metric for one row: exact match, F1 and ROUGE-L against the full reference, contains-answer
 * against the key phrase (the whole reference when no key phrase is given).
 */
export function scoreCompletion(pred: string, ref: Reference, answer: Reference = ref): CompletionScores {
  return { exact_match: exactMatch(pred, ref), contains_answer: containsAnswer(pred, answer), f1: tokenF1(pred, ref), rougeL: rougeL(pred, ref) };
}

/** The mean of each metric over rows; every row must have the same keys. */
export function aggregate<K extends string>(rows: readonly Readonly<Record<K, number>>[]): Record<K, number> {
  if (rows.length === 0) throw new GptuneError('cannot average metrics over no rows');
  const keys = Object.keys(rows[0]) as K[];
  const sums = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  rows.forEach((row, i) => {
    const rk = Object.keys(row);
    if (rk.length !== keys.length || !keys.every((k) => typeof row[k] === 'number')) {
      throw new GptuneError(`metrics row ${i} has keys ${rk.join(', ')}, but row 0 has ${keys.join(', ')}`);
    }
    for (const k of keys) sums[k] += row[k];
  });
  for (const k of keys) sums[k] /= rows.length;
  return sums;
}

export interface TableRow {
  name: string;
  /** null prints as "-" (e.g. a metric not measured before training). */
  before: number | null;
  after: number | null;
}

/**
 * A before/after table as aligned plain text: names left-aligned, numbers right-aligned with `digits`
 * decimals, and the change after - before with its sign. No trailing newline.
 */
export function formatTable(rows: readonly TableRow[], { digits = 3 }: { digits?: number } = {}): string {
  const num = (x: number | null) => (x === null ? '-' : x.toFixed(digits));
  const delta = (r: TableRow) => {
    if (r.before === null || r.after === null) return '-';
    const s = (r.after - r.before).toFixed(digits);
    return Number(s) === 0 ? (0).toFixed(digits) : Number(s) > 0 ? `+${s}` : s; // no "-0.000"
  };
  const cells = [['metric', 'before', 'after', 'change'], ...rows.map((r) => [r.name, num(r.before), num(r.after), delta(r)])];
  const widths = cells[0].map((_, c) => Math.max(...cells.map((row) => row[c].length)));
  return cells.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd()).join('\n');
}
