// Inputs for `gptune predict`: JSONL rows {"text"}, {"text","text_pair"}, {"tokens"} (words, token
// classification) or pre-tokenized {"input_ids","token_type_ids"?}, or CSV with a text column; any
// label in the row is ignored, so labelled eval files predict as they are.
import { GptuneError, describe } from '../util/errors.js';
import { readCsv } from './csv.js';
import { readRows } from './jsonl.js';

export interface UnlabelledInput {
  /** The row's line in its file (absent for --text inputs). */
  line?: number;
  text?: string;
  textPair?: string | null;
  tokens?: string[];
  inputIds?: number[];
  typeIds?: number[] | null;
}

export function readUnlabelledInputs(file: string): UnlabelledInput[] {
  if (/\.csv$/i.test(file)) {
    const { header, records } = readCsv(file);
    if (!header.includes('text')) throw new GptuneError(`CSV header needs a 'text' column (and optionally 'text_pair'), got ${header.join(',')}`, { file, line: 1 });
    return records.map(({ fields, line }) => ({ line, text: fields.text, textPair: fields.text_pair || null }));
  }
  const rows = readRows(file);
  if (rows.length === 0) throw new GptuneError('no rows', { file });
  return rows.map(({ value, line }): UnlabelledInput => {
    const ctx = { file, line };
    const r = (value && typeof value === 'object' && !Array.isArray(value) ? value : null) as Record<string, unknown> | null;
    if (!r) throw new GptuneError(`expected an object {"text"}, {"text", "text_pair"}, {"tokens"} or {"input_ids"}, got ${describe(value)}`, ctx);
    if (typeof r.text === 'string') {
      if (r.text_pair !== undefined && r.text_pair !== null && typeof r.text_pair !== 'string') throw new GptuneError(`text_pair must be a string, got ${describe(r.text_pair)}`, { ...ctx, key: 'text_pair' });
      return { line, text: r.text, textPair: (r.text_pair as string | undefined) ?? null };
    }
    if (Array.isArray(r.tokens)) {
      if (!r.tokens.every((t) => typeof t === 'string')) throw new GptuneError('tokens must be strings', { ...ctx, key: 'tokens' });
      return { line, tokens: r.tokens as string[] };
    }
    if (Array.isArray(r.input_ids)) {
      const ints = (k: string) => {
        const a = r[k];
        if (!Array.isArray(a) || a.length === 0 || !a.every((x) => Number.isInteger(x) && x >= 0)) throw new GptuneError('expected a non-empty array of token ids', { ...ctx, key: k });
        return a as number[];
      };
      const inputIds = ints('input_ids');
      const typeIds = r.token_type_ids === undefined ? null : ints('token_type_ids');
      if (typeIds && typeIds.length !== inputIds.length) throw new GptuneError(`${typeIds.length} token_type_ids for ${inputIds.length} input_ids`, { ...ctx, key: 'token_type_ids' });
      return { line, inputIds, typeIds };
    }
    throw new GptuneError(`expected {"text"}, {"text", "text_pair"}, {"tokens"} or {"input_ids"}, got keys ${Object.keys(r).join(', ') || '(none)'}`, ctx);
  });
}
