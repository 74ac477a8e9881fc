// Reads JSONL (streamed line by line, so a corpus need not fit in memory) and JSON arrays, keeping
// each row's line number so every data error can name file:line.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { GptuneError, errorMessage } from '../util/errors.js';
import { checkUtf8, Utf8Check } from '../util/utf8.js';

export interface Row {
  value: unknown;
  /** 1-based line where the row starts. */
  line: number;
}

/** A row that failed; kept when skipBadRows is on, so the summary can show the first few. */
export interface BadRow {
  file: string;
  line: number;
  message: string;
}

export interface RowReadOptions {
  /** Skip (and report) rows that fail to parse instead of throwing. */
  skipBadRows?: boolean;
  /** Where skipped rows are reported. */
  bad?: BadRow[];
}

/** Calls fn for each line of a text file, read in chunks; line numbers are 1-based, '\r\n' allowed. */
export function forEachLine(file: string, fn: (line: string, lineNo: number) => void, chunkBytes = 1 << 20): void {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(chunkBytes);
    const dec = new StringDecoder('utf8');
    const utf8 = new Utf8Check(file);
    let pending = '', lineNo = 0, first = true;
    const emit = (s: string) => {
      lineNo++;
      if (first) { first = false; if (s.charCodeAt(0) === 0xfeff) s = s.slice(1); }
      fn(s.endsWith('\r') ? s.slice(0, -1) : s, lineNo);
    };
    for (;;) {
      const n = readSync(fd, buf, 0, chunkBytes, null);
      if (n === 0) break;
      utf8.push(buf.subarray(0, n));
      pending += dec.write(buf.subarray(0, n));
      let start = 0;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n', start)) {
        emit(pending.slice(start, nl));
        start = nl + 1;
      }
      pending = pending.slice(start);
    }
    utf8.end();
    pending += dec.end();
    if (pending.length > 0) emit(pending);
  } finally {
    closeSync(fd);
  }
}

/** Streams the rows of a JSONL file (blank lines skipped). A parse error names file:line. */
export function forEachJsonlRow(file: string, fn: (row: Row) => void, opts: RowReadOptions = {}): void {
  forEachLine(file, (text, line) => {
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      const message = `malformed JSON: ${errorMessage(e)}`;
      if (opts.skipBadRows) { opts.bad?.push({ file, line, message }); return; }
      throw new GptuneError(message, { file, line });
    }
    fn({ value, line });
  });
}

/** The first non-blank character of a file (BOM skipped), or '' for a blank file: '[' means a JSON array. */
export function firstChar(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(4096);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) return '';
      const s = buf.subarray(0, n).toString('utf8').replace(/^\uFEFF/, '').trimStart();
      if (s.length > 0) return s[0];
    }
  } finally {
    closeSync(fd);
  }
}

/** Every row of a JSONL file or a JSON array file, in order. */
export function readRows(file: string, opts: RowReadOptions = {}): Row[] {
  const rows: Row[] = [];
  if (firstChar(file) === '[') return readJsonArray(file);
  forEachJsonlRow(file, (r) => rows.push(r), opts);
  return rows;
}

/** A JSON array file's elements, each with the line where it starts. */
export function readJsonArray(file: string): Row[] {
  const bytes = readFileSync(file);
  checkUtf8(bytes, file);
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new GptuneError(`malformed JSON: ${errorMessage(e)}`, { file });
  }
  if (!Array.isArray(value)) throw new GptuneError('expected a JSON array of rows', { file });
  const lines = arrayElementLines(text);
  return value.map((v, i) => ({ value: v, line: lines[i] ?? 1 }));
}

// The 1-based line of each top-level array element: a small scanner over strings and nesting.
function arrayElementLines(text: string): number[] {
  const out: number[] = [];
  let line = 1, depth = 0, inString = false, escaped = false, expectValue = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') line++;
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') continue;
    if (depth === 1 && expectValue && c !== ']') { out.push(line); expectValue = false; }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') { depth++; if (depth === 1) expectValue = true; }
    else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 1) expectValue = true;
  }
  return out;
}

/** The first row of a JSONL file (read from its first 1 MB, BOM skipped) or of a JSON array; null when it does not parse. */
export function firstRow(file: string): unknown {
  if (firstChar(file) === '[') return readJsonArray(file)[0]?.value ?? null;
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(1 << 20);
  const n = readSync(fd, buf, 0, buf.length, 0);
  closeSync(fd);
  const line = buf.subarray(0, n).toString('utf8').replace(/^\uFEFF/, '').split('\n').find((l) => l.trim());
  try {
    return line ? JSON.parse(line) : null;
  } catch {
    return null; // the loader reports the bad row with its line
  }
}
