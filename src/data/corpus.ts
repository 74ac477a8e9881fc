// Causal-LM corpora for pre-training and continued pre-training: raw text (a .txt file, a folder
// of them, JSONL {"text"} rows) cut into seqLen blocks as Hugging Face's run_clm group_texts does,
// or pre-tokenized JSONL {"input_ids"} rows taken one sequence per row.
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { GptuneError, describe } from '../util/errors.js';
import { firstChar, forEachJsonlRow, readJsonArray, type BadRow, type Row } from './jsonl.js';
import { ensureTokenCache, TokenFile, type TextFormat, type TokenCacheOptions } from './token_cache.js';
import { type Example, type SequenceDataset, type TextTokenizer } from './types.js';

export type CorpusFormat = TextFormat | 'jsonl-ids';

export interface CorpusOptions extends TokenCacheOptions {
  seqLen: number;
  /** Overrides detection by extension and content. */
  format?: CorpusFormat | 'auto';
  /** The last fraction of the blocks (or rows) becomes the validation set. */
  valFraction?: number;
  /** A separate validation corpus (same format rules); excludes valFraction. */
  valData?: string;
}

export interface CorpusSummary {
  format: CorpusFormat;
  files: number;
  /** Text: documents tokenized; ids: rows kept. */
  documents: number;
  tokens: number;
  /** Text: whole blocks; ids: rows. */
  sequences: number;
  train: number;
  val: number;
  /** Text: tokens after the last whole block (dropped, as group_texts drops them). */
  droppedTokens: number;
  /** ids: rows longer than seqLen, cut to seqLen. */
  truncatedRows: number;
  /** JSONL rows with empty text (skipped). */
  emptyRows: number;
  skippedRows: number;
  badRows: BadRow[];
  cachePath: string | null;
  cacheBuilt: boolean;
}

export interface Corpus {
  train: SequenceDataset;
  val: SequenceDataset | null;
  summary: CorpusSummary;
  /** Closes the token files (text corpora). */
  close(): void;
}

const TEXT_EXT = new Set(['.txt', '.text', '.md']);
const JSON_EXT = new Set(['.jsonl', '.json', '.ndjson']);

/**
 * The source files of a data path: the file itself, or a folder's .txt files (recursive, sorted by
 * path); a folder with no .txt files gives its .jsonl/.json files.
 */
export function listSources(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new GptuneError('no such file or folder', { file: path });
  }
  if (!st.isDirectory()) return [path];
  const all = (readdirSync(path, { recursive: true }) as string[])
    .filter((f) => !isHiddenOrCache(String(f)))
    .map((f) => join(path, String(f)))
    .filter((f) => statSync(f).isFile())
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const txt = all.filter((f) => TEXT_EXT.has(extname(f).toLowerCase()));
  if (txt.length > 0) return txt;
  const json = all.filter((f) => JSON_EXT.has(extname(f).toLowerCase()));
  if (json.length > 0) return json;
  throw new GptuneError('the folder holds no .txt, .jsonl or .json files', { file: path });
}

/** Hidden files and folders (temp files included) and token caches are never data. */
export function isHiddenOrCache(relPath: string): boolean {
  return relPath.split(/[\\/]/).some((part) => part.startsWith('.')) || /\.tokens(\.json)?$/.test(relPath);
}

/** text for .txt/.md; for JSON(L) the first row decides: "text" -> jsonl-text, "input_ids" -> jsonl-ids. */
export function detectCorpusFormat(file: string): CorpusFormat {
  const ext = extname(file).toLowerCase();
  if (TEXT_EXT.has(ext)) return 'text';
  const c = firstChar(file);
  if (!JSON_EXT.has(ext) && c !== '{' && c !== '[') return 'text';
  if (c === '') throw new GptuneError('no rows: the file is empty or blank', { file });
  const row = firstRow(file);
  if (row === null) throw new GptuneError('no rows: the file is empty or blank', { file });
  const v = row.value;
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    if ('input_ids' in v) return 'jsonl-ids';
    if ('text' in v) return 'jsonl-text';
    throw new GptuneError(`the row has neither "text" nor "input_ids" (its keys: ${Object.keys(v).join(', ') || 'none'})`, { file, line: row.line });
  }
  throw new GptuneError(`expected a JSON object per row, got ${describe(v)}`, { file, line: row.line });
}

// The first row of a JSONL file or JSON array; a malformed first line is reported as such.
function firstRow(file: string): Row | null {
  if (firstChar(file) === '[') return readJsonArray(file)[0] ?? null;
  let found: Row | null = null;
  const stop = new Error('stop');
  try {
    forEachJsonlRow(file, (r) => { found = r; throw stop; });
  } catch (e) {
    if (e !== stop) throw e;
  }
  return found;
}

/** Loads a corpus: blocks of seqLen tokens from text (via the token cache), or input_ids rows. */
export function loadCorpus(path: string, tok: TextTokenizer, opts: CorpusOptions): Corpus {
  checkSeqLen(opts.seqLen);
  if (opts.valData !== undefined && opts.valFraction) {
    throw new GptuneError('give either valData or valFraction, not both', { file: opts.valData });
  }
  const main = loadOne(path, tok, opts);
  let val: SequenceDataset | null = null;
  let closeVal = () => {};
  const s = main.summary;
  if (opts.valData !== undefined) {
    const v = loadOne(opts.valData, tok, opts);
    val = v.all;
    closeVal = v.close;
    s.val = v.all.size;
    s.train = main.all.size;
    return { train: main.all, val, summary: s, close: () => { main.close(); closeVal(); } };
  }
  const nVal = valCount(main.all.size, opts.valFraction ?? 0);
  s.train = main.all.size - nVal;
  s.val = nVal;
  const train = nVal === 0 ? main.all : new SliceDataset(main.all, 0, main.all.size - nVal);
  if (nVal > 0) val = new SliceDataset(main.all, main.all.size - nVal, nVal);
  return { train, val, summary: s, close: main.close };
}

/**
 * Validation size for a deterministic tail split: floor(n * fraction), at least 1 when fraction > 0
 * and n >= 2, and always leaving at least one training sequence.
 */
export function valCount(n: number, fraction: number): number {
  if (!(fraction >= 0 && fraction < 1)) throw new GptuneError(`valFraction must be in [0, 1), got ${fraction}`);
  if (fraction === 0 || n < 2) return 0;
  return Math.min(n - 1, Math.max(1, Math.floor(n * fraction)));
}

function checkSeqLen(seqLen: number): void {
  if (!Number.isInteger(seqLen) || seqLen < 2) throw new GptuneError(`seqLen must be an integer >= 2, got ${seqLen}`);
}

interface Loaded { all: SequenceDataset; summary: CorpusSummary; close: () => void }

function loadOne(path: string, tok: TextTokenizer, opts: CorpusOptions): Loaded {
  const sources = listSources(path);
  const format = opts.format === undefined || opts.format === 'auto' ? detectCorpusFormat(sources[0]) : opts.format;
  for (const f of sources.slice(1)) {
    const other = opts.format === undefined || opts.format === 'auto' ? detectCorpusFormat(f) : format;
    if (other !== format) throw new GptuneError(`this file is ${other} but ${sources[0]} is ${format}; a corpus has one format`, { file: f });
  }
  const summary: CorpusSummary = {
    format, files: sources.length, documents: 0, tokens: 0, sequences: 0, train: 0, val: 0, droppedTokens: 0,
    truncatedRows: 0, emptyRows: 0, skippedRows: 0, badRows: [], cachePath: null, cacheBuilt: false,
  };
  if (format === 'jsonl-ids') {
    const rows = loadIdRows(sources, tok.vocabSize, opts.seqLen, opts.skipBadRows ?? false, summary);
    return { all: rows, summary, close: () => {} };
  }
  const cache = ensureTokenCache(path, sources, format, tok, opts);
  const file = new TokenFile(cache.tokensPath, cache.meta.tokens);
  const blocks = Math.floor(cache.meta.tokens / opts.seqLen);
  if (blocks === 0) {
    file.close();
    throw new GptuneError(`the corpus has ${cache.meta.tokens} tokens, fewer than one block of seqLen ${opts.seqLen}`, { file: path });
  }
  Object.assign(summary, {
    documents: cache.meta.documents, tokens: cache.meta.tokens, sequences: blocks,
    droppedTokens: cache.meta.tokens - blocks * opts.seqLen, emptyRows: cache.meta.emptyDocuments,
    skippedRows: cache.meta.skippedRows, badRows: cache.badRows, cachePath: cache.tokensPath, cacheBuilt: cache.built,
  });
  return { all: new BlockDataset(file, opts.seqLen, blocks), summary, close: () => file.close() };
}

/** Consecutive seqLen-token blocks of a token file; labels equal the inputs (the loss shifts them). */
export class BlockDataset implements SequenceDataset {
  constructor(readonly file: TokenFile, readonly seqLen: number, readonly size: number) {}
  length(): number {
    return this.seqLen;
  }
  get(i: number): Example {
    if (!(i >= 0 && i < this.size)) throw new RangeError(`block ${i} is outside [0, ${this.size})`);
    const inputIds = this.file.read(i * this.seqLen, this.seqLen); // (T,)
    return { inputIds, labels: inputIds.slice() };
  }
}

/** A contiguous range of another dataset (the validation tail, or the training head). */
export class SliceDataset implements SequenceDataset {
  constructor(readonly base: SequenceDataset, readonly start: number, readonly size: number) {
    if (start < 0 || size < 0 || start + size > base.size) throw new RangeError(`slice [${start}, ${start + size}) of ${base.size}`);
  }
  length(i: number): number {
    return this.base.length(this.start + i);
  }
  get(i: number): Example {
    if (!(i >= 0 && i < this.size)) throw new RangeError(`example ${i} is outside [0, ${this.size})`);
    return this.base.get(this.start + i);
  }
}

/** In-memory examples (pre-tokenized rows, task data). */
export class ArrayDataset implements SequenceDataset {
  constructor(readonly examples: readonly Example[]) {}
  get size(): number {
    return this.examples.length;
  }
  length(i: number): number {
    return this.examples[i].inputIds.length;
  }
  get(i: number): Example {
    const e = this.examples[i];
    if (e === undefined) throw new RangeError(`example ${i} is outside [0, ${this.examples.length})`);
    return e;
  }
}

// {"input_ids": [...]} rows, one sequence each, cut to seqLen; every id checked against the vocabulary.
function loadIdRows(sources: string[], vocabSize: number, seqLen: number, skipBadRows: boolean, s: CorpusSummary): ArrayDataset {
  const examples: Example[] = [];
  for (const file of sources) {
    let rows = 0;
    const onRow = (value: unknown, line: number) => {
      rows++;
      const problem = idRowProblem(value, vocabSize);
      if (problem !== null) {
        if (skipBadRows) { s.badRows.push({ file, line, message: problem }); s.skippedRows++; return; }
        throw new GptuneError(problem, { file, line });
      }
      const ids = (value as { input_ids: number[] }).input_ids;
      if (ids.length > seqLen) s.truncatedRows++;
      const inputIds = Int32Array.from(ids.length > seqLen ? ids.slice(0, seqLen) : ids); // (n,)
      examples.push({ inputIds, labels: inputIds.slice() });
      s.tokens += inputIds.length;
    };
    if (firstChar(file) === '[') for (const r of readJsonArray(file)) onRow(r.value, r.line);
    else {
      const bad: BadRow[] = [];
      forEachJsonlRow(file, (r) => onRow(r.value, r.line), { skipBadRows, bad });
      s.badRows.push(...bad);
      s.skippedRows += bad.length;
    }
    if (rows === 0) throw new GptuneError('no rows: the file is empty or blank', { file });
  }
  if (examples.length === 0) throw new GptuneError('no usable rows: every row was skipped', { file: sources[0] });
  s.documents = s.sequences = examples.length;
  return new ArrayDataset(examples);
}

function idRowProblem(value: unknown, vocabSize: number): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return `expected a JSON object, got ${describe(value)}`;
  const ids = (value as Record<string, unknown>).input_ids;
  if (ids === undefined) return 'the row has no "input_ids" field';
  if (!Array.isArray(ids)) return `"input_ids" must be an array of token ids, got ${describe(ids)}`;
  if (ids.length === 0) return '"input_ids" is empty';
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= vocabSize) {
      return `input_ids[${i}] = ${typeof id === 'number' ? id : describe(id)} is not a token id in [0, ${vocabSize})`;
    }
  }
  return null;
}
