// Labelled data for encoder heads (sequence and token classification, multi-label, regression):
// JSONL {"text","label"}, {"text","text_pair","label"}, {"tokens","tags"}, CSV with a header, and
// pre-tokenized {"input_ids","token_type_ids"?,"label"} rows taken as they are; labels mapped to ids.
import { GptuneError, describe } from '../util/errors.js';
import { encodeInput, encodeWordsInput, takesTypeIds } from '../tokenizers/encode_inputs.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { readCsv } from './csv.js';
import { readRows } from './jsonl.js';

export type ProblemType = 'single_label_classification' | 'multi_label_classification' | 'regression' | 'token_classification';

export type ClassificationRow = { inputIds: number[]; tokenTypeIds: number[] | null; label: number | number[] | null; tokenLabels: number[] | null; /** The row's line in its file, for errors. */ line?: number };

export interface LoadClassificationOptions {
  /** null: only pre-tokenized {"input_ids"} rows can be read (a text row is refused by file:line). */
  tokenizer: Tokenizer | null;
  /** The model's label2id; null/undefined builds one from this data (training only). */
  label2id?: Record<string, number> | null;
  /** Tokens per row, special tokens included; longer rows are cut (and counted). */
  maxLength: number;
  problemType: ProblemType;
}

export interface ClassificationCounts {
  rows: number;
  /** Rows cut to maxLength. */
  truncated: number;
  /** Rows (or, for token classification, words) per label name; for class weights. */
  perLabel: Record<string, number>;
}

/** The label HF ignores in the loss: sub-tokens after a word's first, special tokens, padding. */
export const IGNORE_INDEX = -100;

type RawLabel = string | number | (string | number)[];
interface RawRow { line: number; text?: string; textPair?: string | null; tokens?: string[]; tags?: (string | number)[]; inputIds?: number[]; typeIds?: number[] | null; label?: RawLabel | null }

/** The kind of a classification row, or null when the row is none of them. */
export function classificationRowKind(row: unknown): 'text' | 'text-pair' | 'tokens' | 'ids' | null {
  if (!row || typeof row !== 'object' || Array.isArray(row)) return null;
  const r = row as Record<string, unknown>;
  if (Array.isArray(r.tokens) && Array.isArray(r.tags)) return 'tokens';
  if (!('label' in r) && !('labels' in r)) return null;
  if (Array.isArray(r.input_ids)) return 'ids';
  if (typeof r.text === 'string') return typeof r.text_pair === 'string' ? 'text-pair' : 'text';
  return null;
}

/**
 * Reads labelled rows and tokenizes them. With a label2id (the model's) every label must be in it, or
 * the error names file:line; without one the map is built from this data's labels in sorted order,
 * as HF's run_glue/run_ner do (sorted(set(labels))), so ids do not depend on row order. Integer
 * labels with no label2id are class ids as they are (LABEL_0..LABEL_max).
 */
export function loadClassificationRows(path: string, opts: LoadClassificationOptions): { rows: ClassificationRow[]; label2id: Record<string, number>; counts: ClassificationCounts } {
  const raw = /\.(csv)$/i.test(path) ? readCsvRows(path) : readJsonRows(path);
  const label2id = opts.label2id ? { ...opts.label2id } : buildLabel2id(raw, opts.problemType);
  const numLabels = Object.keys(label2id).length;
  const idOf = (v: string | number, line: number, key: string): number => {
    if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= 0 && v < numLabels) return v;
      throw new GptuneError(`label ${v} is not a class id (0..${numLabels - 1})`, { file: path, line, key });
    }
    const id = label2id[v];
    if (id === undefined) throw new GptuneError(`unknown label ${JSON.stringify(v)} (labels: ${Object.keys(label2id).slice(0, 20).join(', ')})`, { file: path, line, key });
    return id;
  };
  const types = opts.tokenizer ? takesTypeIds(opts.tokenizer) : true;
  const tokenizer = (line: number): Tokenizer => {
    if (!opts.tokenizer) throw new GptuneError('text rows need a tokenizer, and the model has none (give --tokenizer, or {"input_ids"} rows)', { file: path, line });
    return opts.tokenizer;
  };
  const counts: ClassificationCounts = { rows: 0, truncated: 0, perLabel: {} };
  const seen = (name: string | number) => { const k = String(name); counts.perLabel[k] = (counts.perLabel[k] ?? 0) + 1; };
  const rows = raw.map((r): ClassificationRow => {
    counts.rows++;
    if (opts.problemType === 'token_classification') {
      if (!r.tokens || !r.tags) throw new GptuneError('token classification needs {"tokens": [...], "tags": [...]} rows', { file: path, line: r.line });
      if (r.tokens.length !== r.tags.length) throw new GptuneError(`${r.tokens.length} tokens but ${r.tags.length} tags`, { file: path, line: r.line, key: 'tags' });
      const tagIds = r.tags.map((t) => { seen(t); return idOf(t, r.line, 'tags'); });
      const e = encodeWordsInput(tokenizer(r.line), r.tokens, null, { maxLength: opts.maxLength });
      if (e.truncated) counts.truncated++;
      // The label goes on each word's first sub-token; later sub-tokens and special tokens get -100.
      const tokenLabels = e.wordIds.map((w, i) => (w === null || (i > 0 && e.wordIds[i - 1] === w) ? IGNORE_INDEX : tagIds[w]));
      return { inputIds: e.ids, tokenTypeIds: types ? e.typeIds : null, label: null, tokenLabels, line: r.line };
    }
    const label = readLabel(r, opts.problemType, path, idOf, numLabels, seen);
    if (r.inputIds) {
      let ids = r.inputIds, typeIds = r.typeIds ?? null;
      if (ids.length > opts.maxLength) { counts.truncated++; ids = ids.slice(0, opts.maxLength); typeIds = typeIds?.slice(0, opts.maxLength) ?? null; }
      return { inputIds: ids, tokenTypeIds: typeIds, label, tokenLabels: null, line: r.line };
    }
    const e = encodeInput(tokenizer(r.line), r.text!, r.textPair ?? null, { maxLength: opts.maxLength });
    if (e.truncated) counts.truncated++;
    return { inputIds: e.ids, tokenTypeIds: types ? e.typeIds : null, label, tokenLabels: null, line: r.line };
  });
  return { rows, label2id, counts };
}

/**
 * What a file's labels describe, for a head that has none yet, without tokenizing: the problem (tokens +
 * tags rows -> token classification; any list label -> multi-label; numbers with a fraction -> regression;
 * else single-label) unless given, and the label map loadClassificationRows would build (sorted names).
 */
export function dataLabels(path: string, problemType: ProblemType | null = null): { problemType: ProblemType; label2id: Record<string, number> } {
  const raw = /\.(csv)$/i.test(path) ? readCsvRows(path) : readJsonRows(path);
  const problem = problemType ?? inferProblemType(raw);
  return { problemType: problem, label2id: buildLabel2id(raw, problem) };
}

function inferProblemType(raw: RawRow[]): ProblemType {
  if (raw.some((r) => r.tags)) return 'token_classification';
  const labels = raw.flatMap((r) => (r.label == null ? [] : [r.label]));
  if (labels.some((l) => Array.isArray(l))) return 'multi_label_classification';
  const nums = labels.map((l) => (typeof l === 'number' ? l : typeof l === 'string' && l.trim() !== '' ? Number(l) : NaN));
  if (nums.length > 0 && nums.every(Number.isFinite) && nums.some((x) => !Number.isInteger(x))) return 'regression';
  return 'single_label_classification';
}

function readLabel(r: RawRow, problem: ProblemType, file: string, idOf: (v: string | number, line: number, key: string) => number, numLabels: number,
  seen: (n: string | number) => void): number | number[] | null {
  const v = r.label;
  if (v === undefined || v === null) return null;   // unlabelled rows (predict)
  if (problem === 'regression') {
    const x = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new GptuneError(`a regression label must be a number, got ${describe(v)}`, { file, line: r.line, key: 'label' });
    return x;
  }
  if (problem === 'multi_label_classification') {
    const list = Array.isArray(v) ? v : [v];
    const hot = new Array<number>(numLabels).fill(0);
    for (const x of list) { seen(x); hot[idOf(x, r.line, 'label')] = 1; }
    return hot;
  }
  if (Array.isArray(v)) throw new GptuneError('a list of labels needs problem_type multi_label_classification', { file, line: r.line, key: 'label' });
  seen(v);
  return idOf(v, r.line, 'label');
}

function buildLabel2id(raw: RawRow[], problem: ProblemType): Record<string, number> {
  if (problem === 'regression') return {};
  const names = new Set<string | number>();
  for (const r of raw) {
    const list = problem === 'token_classification' ? (r.tags ?? []) : r.label == null ? [] : Array.isArray(r.label) ? r.label : [r.label];
    for (const x of list) names.add(x);
  }
  const all = [...names];
  if (all.length > 0 && all.every((x) => typeof x === 'number')) {
    const max = Math.max(...(all as number[]));
    return Object.fromEntries(Array.from({ length: max + 1 }, (_, i) => [`LABEL_${i}`, i]));
  }
  const sorted = all.map(String).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(sorted.map((n, i) => [n, i]));
}

function readJsonRows(file: string): RawRow[] {
  return readRows(file).map(({ value, line }) => {
    const kind = classificationRowKind(value);
    const ctx = { file, line };
    if (!kind) throw new GptuneError(`expected {"text", "label"}, {"text", "text_pair", "label"}, {"tokens", "tags"} or {"input_ids", "label"}, got ${describe(value)} with keys ${value && typeof value === 'object' ? Object.keys(value).join(', ') : ''}`, ctx);
    const r = value as Record<string, unknown>;
    const label = (r.label ?? r.labels ?? null) as RawLabel | null;
    if (label !== null && !isRawLabel(label)) throw new GptuneError(`label must be a name, a number or a list of names, got ${describe(label)}`, { ...ctx, key: 'label' });
    if (kind === 'tokens') {
      if (!(r.tokens as unknown[]).every((t) => typeof t === 'string')) throw new GptuneError('tokens must be strings', { ...ctx, key: 'tokens' });
      if (!(r.tags as unknown[]).every((t) => typeof t === 'string' || Number.isInteger(t))) throw new GptuneError('tags must be names or class ids', { ...ctx, key: 'tags' });
      return { line, tokens: r.tokens as string[], tags: r.tags as (string | number)[] };
    }
    if (kind === 'ids') {
      const ints = (k: string) => { const a = r[k]; if (!Array.isArray(a) || !a.every((x) => Number.isInteger(x) && x >= 0)) throw new GptuneError('expected an array of token ids', { ...ctx, key: k }); return a as number[]; };
      const inputIds = ints('input_ids');
      const typeIds = r.token_type_ids === undefined ? null : ints('token_type_ids');
      if (typeIds && typeIds.length !== inputIds.length) throw new GptuneError(`${typeIds.length} token_type_ids for ${inputIds.length} input_ids`, { ...ctx, key: 'token_type_ids' });
      return { line, inputIds, typeIds, label };
    }
    return { line, text: r.text as string, textPair: kind === 'text-pair' ? r.text_pair as string : null, label };
  });
}

function isRawLabel(v: unknown): v is RawLabel {
  const one = (x: unknown) => typeof x === 'string' || (typeof x === 'number' && Number.isFinite(x));
  return one(v) || (Array.isArray(v) && v.every(one));
}

function readCsvRows(file: string): RawRow[] {
  const { header, records } = readCsv(file);
  if (!header.includes('text')) throw new GptuneError(`CSV header needs a 'text' column (and 'label', optionally 'text_pair'), got ${header.join(',')}`, { file, line: 1 });
  return records.map(({ fields, line }) => {
    const l = fields.label;
    // A CSV label that reads as an integer is a class id only when it is all digits.
    const label = l === undefined || l === '' ? null : /^\d+$/.test(l) ? Number(l) : l;
    return { line, text: fields.text, textPair: fields.text_pair ?? null, label };
  });
}

/** A batch, right-padded to its longest row. */
export interface ClassificationBatch {
  batchSize: number;
  seqLen: number;
  /** (B, T) */
  inputIds: Int32Array;
  /** (B, T); zeros where the rows have none */
  tokenTypeIds: Int32Array;
  /** (B, T) 1 for tokens, 0 for padding */
  attentionMask: Float32Array;
  /** (B) class ids, (B, numLabels) multi-hot, or (B) regression targets; null when the rows are unlabelled */
  labels: Int32Array | Float32Array | null;
  /** (B, T) token labels, -100 on padding; null unless token classification */
  tokenLabels: Int32Array | null;
}

/** problemType 'regression' keeps float targets even when they happen to be whole numbers. */
export function padClassificationBatch(rows: readonly ClassificationRow[], padId: number, problemType?: ProblemType): ClassificationBatch {
  const B = rows.length, T = Math.max(1, ...rows.map((r) => r.inputIds.length));
  const inputIds = new Int32Array(B * T).fill(padId), tokenTypeIds = new Int32Array(B * T), attentionMask = new Float32Array(B * T);
  const tokenLabels = rows.some((r) => r.tokenLabels) ? new Int32Array(B * T).fill(IGNORE_INDEX) : null;
  rows.forEach((r, b) => {
    inputIds.set(r.inputIds, b * T);
    if (r.tokenTypeIds) tokenTypeIds.set(r.tokenTypeIds, b * T);
    attentionMask.fill(1, b * T, b * T + r.inputIds.length);
    if (tokenLabels && r.tokenLabels) tokenLabels.set(r.tokenLabels, b * T);
  });
  let labels: Int32Array | Float32Array | null = null;
  const first = rows.find((r) => r.label !== null)?.label;
  if (first !== undefined && first !== null) {
    if (rows.some((r) => r.label === null)) throw new Error('padClassificationBatch: some rows have labels and some do not');
    if (Array.isArray(first)) {
      const L = first.length;
      labels = new Float32Array(B * L);
      rows.forEach((r, b) => labels!.set(r.label as number[], b * L));
    } else {
      const ints = problemType !== 'regression' && rows.every((r) => Number.isInteger(r.label));
      labels = ints ? Int32Array.from(rows, (r) => r.label as number) : Float32Array.from(rows, (r) => r.label as number);
    }
  }
  return { batchSize: B, seqLen: T, inputIds, tokenTypeIds, attentionMask, labels, tokenLabels };
}
