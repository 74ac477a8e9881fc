// The text pipeline sections of tokenizer.json (normalizer, pre_tokenizer, decoder) read into the typed
// steps that normalizers.ts, pretokenize.ts and decoders.ts run. A type gptune does not run is refused
// by name, e.g. "tokenizer.json: pre_tokenizer type 'Whitespace' is not supported".
import { escapeRegex } from './added_tokens.js';
import type { DecoderStep } from './decoders.js';
import type { Normalizer } from './normalizers.js';
import { RegexTranslationError, translateOnigurumaRegex } from './onig_regex.js';
import type { PrependScheme, PreTokenizerStep, SplitBehavior } from './pretokenize.js';
import { GptuneError, describe } from '../util/errors.js';

export type PatternJson = { String: string } | { Regex: string };

export type NormalizerJson =
  | { type: 'NFC' | 'NFD' | 'NFKC' | 'NFKD' | 'Lowercase' }
  | { type: 'Sequence'; normalizers: NormalizerJson[] }
  | { type: 'Replace'; pattern: PatternJson; content: string }
  | { type: 'Prepend'; prepend: string }
  | { type: 'Strip'; strip_left?: boolean; strip_right?: boolean };

/** Metaspace as tokenizers >= 0.19 writes it; older files have add_prefix_space instead of prepend_scheme. */
export interface MetaspaceJson {
  type: 'Metaspace';
  replacement: string;
  prepend_scheme?: 'first' | 'always' | 'never';
  split?: boolean;
  add_prefix_space?: boolean;
}

export type PreTokenizerJson =
  | { type: 'ByteLevel'; add_prefix_space?: boolean; trim_offsets?: boolean; use_regex?: boolean }
  | { type: 'Split'; pattern: PatternJson; behavior: SplitBehavior; invert?: boolean }
  | { type: 'Digits'; individual_digits?: boolean }
  | MetaspaceJson
  | { type: 'Sequence'; pretokenizers: PreTokenizerJson[] };

export type DecoderJson =
  | { type: 'ByteLevel'; add_prefix_space?: boolean; trim_offsets?: boolean; use_regex?: boolean }
  | { type: 'Replace'; pattern: PatternJson; content: string }
  | { type: 'ByteFallback' }
  | { type: 'Fuse' }
  | { type: 'Strip'; content: string; start: number; stop: number }
  | MetaspaceJson
  | { type: 'Sequence'; decoders: DecoderJson[] };

/** Error helpers bound to the file being read. */
export interface JsonReader {
  fail(key: string, msg: string): never;
  unsupported(key: string, type: unknown): never;
}

export function jsonReader(file: string): JsonReader {
  return {
    fail: (key, msg) => { throw new GptuneError(msg, { file, key }); },
    unsupported: (key, type) => {
      throw new GptuneError(`${key} type ${typeof type === 'string' ? `'${type}'` : describe(type)} is not supported (gptune reads BPE tokenizers: byte-level and SentencePiece-style)`, { file });
    },
  };
}

/** A {"String"} pattern matches literally, a {"Regex"} is Oniguruma syntax translated to JS. */
export function regexOf(r: JsonReader, key: string, p: PatternJson | undefined): RegExp {
  if (p && typeof (p as { String?: unknown }).String === 'string') return new RegExp(escapeRegex((p as { String: string }).String), 'gu');
  if (p && typeof (p as { Regex?: unknown }).Regex === 'string') {
    try {
      return new RegExp(translateOnigurumaRegex((p as { Regex: string }).Regex), 'gu');
    } catch (e) {
      if (e instanceof RegexTranslationError) r.fail(key, e.message);
      throw e;
    }
  }
  return r.fail(key, `pattern must be {"String": ...} or {"Regex": ...}, got ${JSON.stringify(p)}`);
}

export function readNormalizers(r: JsonReader, n: NormalizerJson | null | undefined, key = 'normalizer', out: Normalizer[] = []): Normalizer[] {
  if (n === null || n === undefined) return out;
  switch (n.type) {
    case 'NFC': case 'NFD': case 'NFKC': case 'NFKD': out.push({ type: 'unicode', form: n.type }); break;
    case 'Lowercase': out.push({ type: 'lowercase' }); break;
    case 'Sequence': n.normalizers.forEach((x, i) => readNormalizers(r, x, `${key}.normalizers[${i}]`, out)); break;
    case 'Replace': out.push({ type: 'replace', pattern: regexOf(r, key, n.pattern), content: stringField(r, key, n, 'content') }); break;
    case 'Prepend': out.push({ type: 'prepend', prepend: stringField(r, key, n, 'prepend') }); break;
    case 'Strip': out.push({ type: 'strip', left: n.strip_left ?? false, right: n.strip_right ?? false }); break;
    default: r.unsupported(key, (n as { type: unknown }).type);
  }
  return out;
}

const BEHAVIORS = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

export function readPreTokenizers(r: JsonReader, p: PreTokenizerJson | null | undefined, key = 'pre_tokenizer', out: PreTokenizerStep[] = []): PreTokenizerStep[] {
  if (p === null || p === undefined) return out;
  switch (p.type) {
    case 'ByteLevel': out.push({ type: 'byteLevel', addPrefixSpace: p.add_prefix_space ?? true, useRegex: p.use_regex ?? true }); break;
    case 'Split':
      if (!BEHAVIORS.includes(p.behavior)) r.fail(key, `Split behavior ${JSON.stringify(p.behavior)} is not one of ${BEHAVIORS.join(', ')}`);
      out.push({ type: 'split', regex: regexOf(r, key, p.pattern), behavior: p.behavior, invert: p.invert ?? false });
      break;
    case 'Digits': out.push({ type: 'digits', individualDigits: p.individual_digits ?? false }); break;
    case 'Metaspace': out.push({ type: 'metaspace', ...readMetaspace(r, key, p) }); break;
    case 'Sequence': p.pretokenizers.forEach((x, i) => readPreTokenizers(r, x, `${key}.pretokenizers[${i}]`, out)); break;
    default: r.unsupported(key, (p as { type: unknown }).type);
  }
  return out;
}

export function readDecoders(r: JsonReader, d: DecoderJson, key = 'decoder', out: DecoderStep[] = []): DecoderStep[] {
  switch (d.type) {
    case 'ByteLevel': out.push({ type: 'byteLevel' }); break;
    case 'Replace': out.push({ type: 'replace', pattern: regexOf(r, key, d.pattern), content: stringField(r, key, d, 'content') }); break;
    case 'ByteFallback': out.push({ type: 'byteFallback' }); break;
    case 'Fuse': out.push({ type: 'fuse' }); break;
    case 'Strip': {
      const content = stringField(r, key, d, 'content');
      if (Array.from(content).length !== 1) r.fail(key, `Strip content must be one character, got ${JSON.stringify(content)}`);
      const count = (k: 'start' | 'stop') => Number.isInteger(d[k]) && d[k] >= 0 ? d[k] : r.fail(key, `Strip ${k} must be a non-negative integer, got ${describe(d[k])}`);
      out.push({ type: 'strip', content, start: count('start'), stop: count('stop') });
      break;
    }
    case 'Metaspace': { const m = readMetaspace(r, key, d); out.push({ type: 'metaspace', replacement: m.replacement, prependScheme: m.prependScheme }); break; }
    case 'Sequence': d.decoders.forEach((x, i) => readDecoders(r, x, `${key}.decoders[${i}]`, out)); break;
    default: r.unsupported(key, (d as { type: unknown }).type);
  }
  return out;
}

// HF's Metaspace deserializer: prepend_scheme defaults to 'always', split to true, and a legacy
// add_prefix_space: false means 'never' (and contradicts any other declared scheme).
function readMetaspace(r: JsonReader, key: string, m: MetaspaceJson): { replacement: string; prependScheme: PrependScheme; split: boolean } {
  const replacement = stringField(r, key, m, 'replacement');
  if (Array.from(replacement).length !== 1) r.fail(key, `Metaspace replacement must be one character, got ${JSON.stringify(replacement)}`);
  let scheme = m.prepend_scheme ?? 'always';
  if (!['first', 'always', 'never'].includes(scheme)) r.fail(key, `Metaspace prepend_scheme ${JSON.stringify(scheme)} is not one of first, always, never`);
  if (m.add_prefix_space === false) {
    if (scheme !== 'never') r.fail(key, 'add_prefix_space does not match declared prepend_scheme');
    scheme = 'never';
  }
  return { replacement, prependScheme: scheme, split: m.split ?? true };
}

function stringField<T extends object>(r: JsonReader, key: string, o: T, field: keyof T & string): string {
  const v = o[field];
  return typeof v === 'string' ? v : r.fail(key, `${field} must be a string, got ${describe(v)}`);
}
