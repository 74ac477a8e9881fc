// BPE trainer: merges derived by hand (HF's tie-break by ids, left-to-right merging, stop rules), a
// round trip through a tiny rank-order reference encoder written here, the saved files, the corpus
// reader, and HF's own trainer (@anush008/tokenizers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { saveTrainedTokenizer, trainBpe, trainBpeSync, trainedTokenizerJson, type TrainBpeResult } from '../../src/tokenizers/train_bpe.js';
import { readTrainingTexts } from '../../src/tokenizers/train_corpus.js';
import { GptuneError } from '../../src/util/errors.js';
import { rng } from '../helpers/close.js';
import { tempDir } from '../helpers/temp_dir.js';

const tmp = () => tempDir('bpe-');

// ---- a reference byte-level BPE encoder: the classic loop, merging the lowest-rank pair until none applies ----

const BYTE_TO_CHAR: string[] = [];
{
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    BYTE_TO_CHAR[b] = String.fromCharCode(printable ? b : 256 + extra++);
  }
}
const CHAR_TO_BYTE = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));
const GPT2 = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

function referenceEncoder(r: TrainBpeResult) {
  const rank = new Map(r.merges.map(([a, b], i) => [a + ' ' + b, i]));
  const bpe = (word: string): string[] => {
    let parts = [...new TextEncoder().encode(word)].map((b) => BYTE_TO_CHAR[b]);
    for (;;) {
      let best = -1, bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const k = rank.get(parts[i] + ' ' + parts[i + 1]);
        if (k !== undefined && k < bestRank) { bestRank = k; best = i; }
      }
      if (best < 0) return parts;
      const [a, b] = r.merges[bestRank];
      const next: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i + 1 < parts.length && parts[i] === a && parts[i + 1] === b) { next.push(a + b); i++; } else next.push(parts[i]);
      }
      parts = next;
    }
  };
  const encode = (text: string): number[] => (text.match(GPT2) ?? []).flatMap(bpe).map((t) => {
    const id = r.vocab[t];
    assert.ok(id !== undefined, `token ${JSON.stringify(t)} is not in the vocab`);
    return id;
  });
  const byId = Object.keys(r.vocab).sort((a, b) => r.vocab[a] - r.vocab[b]);
  const decode = (ids: number[]): string => {
    const bytes = ids.flatMap((id) => (r.specialTokens.includes(byId[id]) ? [...new TextEncoder().encode(byId[id])] : [...byId[id]].map((c) => CHAR_TO_BYTE.get(c)!)));
    return new TextDecoder().decode(new Uint8Array(bytes));
  };
  return { bpe, encode, decode };
}

/** Small seeded pseudo-English: Zipf-ish word choice from syllables, punctuation, digits, some non-ASCII. */
function pseudoText(seed: number, nWords: number): string[] {
  const r = rng(seed);
  const syl = ['th', 'e', 'an', 'in', 'er', 'on', 're', 'st', 'ou', 'ing', 'al', 'ch', 'qu', 'ly', 'ca', 'fé', 'naïve', 'ß'];
  const lex = Array.from({ length: 300 }, () => Array.from({ length: 1 + Math.floor(r.uniform() * 3) }, () => syl[Math.floor(r.uniform() * syl.length)]).join(''));
  const lines: string[] = [];
  let line = '';
  for (let i = 0; i < nWords; i++) {
    let w = lex[Math.floor(lex.length * r.uniform() ** 3)];
    if (r.uniform() < 0.1) w = w[0].toUpperCase() + w.slice(1);
    if (r.uniform() < 0.03) w = String(Math.floor(r.uniform() * 2000));
    line += (line ? ' ' : '') + w + (r.uniform() < 0.08 ? ',' : r.uniform() < 0.05 ? "'s" : '');
    if (r.uniform() < 0.06) { lines.push(line + '.\n'); line = ''; }
  }
  lines.push(line);
  return lines;
}

// ---- merges derived by hand ----

test('"aaabdaaabac": merges by count, ties to the smaller (left id, right id), left-to-right merging', () => {
  const r = trainBpeSync(['aaabdaaabac'], { vocabSize: 1000, specialTokens: [] });
  // aa x4 -> "aa a b d aa a b a c"; (a,b)=2 ties (aa,a)=2 and wins on ids; then (aa,ab)=2. The rest
  // occur once: (a,c) has the smallest left id; then (d,aaab) beats (aaab,ac) because d is a byte
  // (lexicographic order of strings would have picked "aaab ac" here).
  assert.deepEqual(r.merges, [['a', 'a'], ['a', 'b'], ['aa', 'ab'], ['a', 'c'], ['d', 'aaab'], ['aaab', 'daaab'], ['aaabdaaab', 'ac']]);
  // 256 byte symbols sorted by their character's code point, then one id per merge.
  assert.equal(r.vocab['!'], 0);
  assert.equal(r.vocab['a'], 'a'.charCodeAt(0) - '!'.charCodeAt(0));
  assert.equal(r.vocab['Ġ'], 256 - 68 + 32);   // byte 0x20 is the 33rd of the 68 remapped bytes
  assert.equal(r.vocab['aa'], 256);
  assert.equal(r.vocab['aaabdaaabac'], 262);
  assert.equal(Object.keys(r.vocab).length, 263);
});

test('tie-break compares ids, not strings: a younger "aa" loses to the byte "b"', () => {
  const r = trainBpeSync(['aax', 'aax', 'bx', 'bx', 'aa'], { vocabSize: 1000, specialTokens: [] });
  // (a,a)=3 first; then (aa,x)=2 and (b,x)=2 tie, and b's id is smaller than the new token aa's.
  assert.deepEqual(r.merges, [['a', 'a'], ['b', 'x'], ['aa', 'x']]);
});

test('overlapping pairs merge left to right: "aaaaa" -> "aa aa a" -> "aa aaa" -> "aaaaa"', () => {
  const r = trainBpeSync(['aaaaa'], { vocabSize: 1000, specialTokens: [] });
  assert.deepEqual(r.merges, [['a', 'a'], ['aa', 'a'], ['aa', 'aaa']]);
});

test('stops at vocabSize (specials and alphabet included) and below minFrequency', () => {
  const full = trainBpeSync(['aaabdaaabac'], { vocabSize: 1000 });
  assert.equal(full.merges.length, 7);
  const capped = trainBpeSync(['aaabdaaabac'], { vocabSize: 1 + 256 + 2 });
  assert.deepEqual(capped.merges, full.merges.slice(0, 2));
  assert.equal(Object.keys(capped.vocab).length, 259);
  const frequent = trainBpeSync(['aaabdaaabac'], { vocabSize: 1000, minFrequency: 2 });
  assert.deepEqual(frequent.merges, full.merges.slice(0, 3));
  const tiny = trainBpeSync(['aaabdaaabac'], { vocabSize: 10 });   // smaller than the alphabet: no merges
  assert.equal(tiny.merges.length, 0);
  assert.equal(Object.keys(tiny.vocab).length, 257);
  assert.throws(() => trainBpeSync([], { vocabSize: 0 }), GptuneError);
  assert.throws(() => trainBpeSync([], { vocabSize: 10, minFrequency: -1 }), GptuneError);
});

test('special tokens take the first ids in order; the training text is not split on them', () => {
  const r = trainBpeSync(['hello<|endoftext|>hello'], { vocabSize: 400, specialTokens: ['<|endoftext|>', '<pad>'] });
  assert.equal(r.vocab['<|endoftext|>'], 0);
  assert.equal(r.vocab['<pad>'], 1);
  assert.equal(r.vocab['!'], 2);
  assert.deepEqual(r.specialTokens, ['<|endoftext|>', '<pad>']);
  assert.ok('endoftext' in r.vocab, 'the special token text inside training data is ordinary text');
});

// ---- the fast trainer against a naive one that recounts every pair at every step ----

function naiveTrain(texts: string[], vocabSize: number, specialTokens: string[]): [string, string][] {
  const ids = new Map<string, number>();
  for (const s of specialTokens) if (!ids.has(s)) ids.set(s, ids.size);
  [...BYTE_TO_CHAR].sort().forEach((c) => ids.set(c, ids.size));   // one UTF-16 unit each: sort() is code point order
  const counts = new Map<string, number>();
  for (const t of texts) for (const w of t.match(GPT2) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
  const words = [...counts].map(([w, n]) => ({ parts: [...new TextEncoder().encode(w)].map((b) => BYTE_TO_CHAR[b]), n }));
  const merges: [string, string][] = [];
  while (ids.size < vocabSize) {
    const pairs = new Map<string, { a: string; b: string; n: number }>();
    for (const { parts, n } of words) {
      for (let i = 0; i + 1 < parts.length; i++) {
        const k = parts[i] + ' ' + parts[i + 1];
        const p = pairs.get(k) ?? { a: parts[i], b: parts[i + 1], n: 0 };
        p.n += n;
        pairs.set(k, p);
      }
    }
    let best: { a: string; b: string; n: number } | undefined;
    for (const p of pairs.values()) {
      if (!best || p.n > best.n || (p.n === best.n && (ids.get(p.a)! < ids.get(best.a)! || (p.a === best.a && ids.get(p.b)! < ids.get(best.b)!)))) best = p;
    }
    if (!best) break;
    merges.push([best.a, best.b]);
    if (!ids.has(best.a + best.b)) ids.set(best.a + best.b, ids.size);
    for (const w of words) {
      const next: string[] = [];
      for (let i = 0; i < w.parts.length; i++) {
        if (i + 1 < w.parts.length && w.parts[i] === best.a && w.parts[i + 1] === best.b) { next.push(best.a + best.b); i++; } else next.push(w.parts[i]);
      }
      w.parts = next;
    }
  }
  return merges;
}

test('the indexed, heap-driven trainer gives the merges of a naive recount-everything trainer', () => {
  for (const [seed, nWords, vocabSize] of [[1, 3000, 600], [2, 300, 100000], [4, 2000, 257]] as const) {
    const texts = pseudoText(seed, nWords);
    const specials = seed === 2 ? ['<s>', '</s>'] : ['<|endoftext|>'];
    assert.deepEqual(trainBpeSync(texts, { vocabSize, specialTokens: specials }).merges, naiveTrain(texts, vocabSize, specials), `seed ${seed}`);
  }
});

// ---- round trip and consistency on a larger corpus ----

test('encode/decode round-trips any text, and training words encode to the segmentation training reached', () => {
  const texts = pseudoText(7, 6000);
  const r = trainBpeSync(texts, { vocabSize: 700 });
  assert.equal(Object.keys(r.vocab).length, 700);
  assert.equal(r.merges.length, 700 - 257);
  const ids = new Set(Object.values(r.vocab));
  assert.equal(ids.size, 700);
  for (let i = 0; i < 700; i++) assert.ok(ids.has(i), `id ${i} missing`);
  r.merges.forEach(([a, b], k) => {
    assert.ok(r.vocab[a] < 257 + k && r.vocab[b] < 257 + k, `merge ${k} uses a token made later`);
    assert.equal(r.vocab[a + b], 257 + k, `merge ${k} makes id 257+k`);
  });
  for (let b = 0; b < 256; b++) assert.ok(BYTE_TO_CHAR[b] in r.vocab, `byte ${b} missing`);

  const enc = referenceEncoder(r);
  const samples = [...texts.slice(0, 50), 'naïve café, 1999 quick brown fox\n\n  tabs\tand  spaces  ',
    'unseen: 日本語テキスト 😀 \u0000\u0007 e\u0301 Ω ﬁ', "it's they're we've I'm you'll he'd", ''];
  for (const s of samples) assert.equal(enc.decode(enc.encode(s)), s, JSON.stringify(s));
  // A rare word is split, a frequent one is a single token.
  assert.ok(enc.encode(texts.join('')).length < new TextEncoder().encode(texts.join('')).length / 2, 'BPE should compress its own corpus');
});

test('trained to completion, every training word is a single token under the rank-order encoder', () => {
  const texts = pseudoText(11, 1500);
  const r = trainBpeSync(texts, { vocabSize: 100000 });
  const enc = referenceEncoder(r);
  const words = new Set(texts.flatMap((t) => t.match(GPT2) ?? []));
  for (const w of words) assert.equal(enc.bpe(w).length, 1, JSON.stringify(w));
});

test('trainBpe takes async iterables and gives what trainBpeSync gives', async () => {
  const texts = pseudoText(3, 2000);
  async function* gen() { for (const t of texts) yield t; }
  const progress: string[] = [];
  const a = await trainBpe(gen(), { vocabSize: 500, onProgress: (p) => progress.push(p.phase) });
  const b = trainBpeSync(texts, { vocabSize: 500 });
  assert.deepEqual(a, b);
  assert.ok(progress.includes('count') && progress.includes('merge'));
  await assert.rejects(trainBpe('one string' as unknown as string[], { vocabSize: 500 }), /one string/);
});

// ---- files ----

test('saveTrainedTokenizer writes HF-format files atomically', () => {
  const r = trainBpeSync(pseudoText(5, 2000), { vocabSize: 400 });
  const dir = join(tmp(), 'out', 'tok');
  saveTrainedTokenizer(dir, r, { modelMaxLength: 512 });
  assert.deepEqual(readdirSync(dir).sort(), ['merges.txt', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json']);

  const j = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  assert.deepEqual(Object.keys(j), ['version', 'truncation', 'padding', 'added_tokens', 'normalizer', 'pre_tokenizer', 'post_processor', 'decoder', 'model']);
  assert.equal(j.version, '1.0');
  assert.deepEqual(j.added_tokens, [{ id: 0, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }]);
  assert.deepEqual(j.pre_tokenizer, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true });
  assert.deepEqual(j.post_processor, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true });
  assert.equal(j.decoder.type, 'ByteLevel');
  assert.equal(j.normalizer, null);
  const { vocab, merges, ...rest } = j.model;
  assert.deepEqual(rest, { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false });
  assert.deepEqual(vocab, r.vocab);
  // Written in id order (JS objects would put digit keys first), like HF.
  const raw = readFileSync(join(dir, 'tokenizer.json'), 'utf8').split('"vocab": {')[1];
  const order = [...raw.matchAll(/^ {6}"(?:[^"\\]|\\.)*": (\d+),?$/gm)].map((m) => Number(m[1]));
  assert.deepEqual(order, Array.from({ length: 400 }, (_, i) => i));
  assert.match(readFileSync(join(dir, 'vocab.json'), 'utf8'), /^\{"<\|endoftext\|>":0,"!":1,/);
  assert.deepEqual(merges, r.merges.map(([a, b]) => `${a} ${b}`));
  assert.deepEqual(JSON.parse(trainedTokenizerJson(r, true)).model.merges, r.merges);

  const cfg = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
  assert.equal(cfg.tokenizer_class, 'GPT2Tokenizer');
  assert.equal(cfg.model_max_length, 512);
  assert.equal(cfg.add_bos_token, false);
  for (const k of ['bos_token', 'eos_token', 'unk_token']) assert.equal(cfg[k], '<|endoftext|>');
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'special_tokens_map.json'), 'utf8')),
    { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>' });
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'vocab.json'), 'utf8')), r.vocab);
  const lines = readFileSync(join(dir, 'merges.txt'), 'utf8').split('\n');
  assert.equal(lines[0], '#version: 0.2');
  assert.deepEqual(lines.slice(1, -1), r.merges.map(([a, b]) => `${a} ${b}`));
  assert.equal(lines.at(-1), '');

  // Overwriting leaves no temporary files behind.
  saveTrainedTokenizer(dir, r, { modelMaxLength: 1024 });
  assert.equal(readdirSync(dir).length, 5);
  assert.throws(() => saveTrainedTokenizer(dir, r, { modelMaxLength: 0 }), GptuneError);
});

// ---- corpus reader ----

test('corpus reader: text files by line with their newline, JSONL "text" rows, folders in sorted order', async () => {
  const d = tmp();
  mkdirSync(join(d, 'sub'));
  writeFileSync(join(d, 'b.txt'), 'one\ntwo  \n\nthree');
  writeFileSync(join(d, 'a.jsonl'), '{"text": "row 1\\n"}\n\n{"text": "row 2", "id": 3}\n');
  writeFileSync(join(d, 'sub', 'c.md'), 'x'.repeat(3 << 20) + '\ny\n');   // a line longer than a read chunk
  writeFileSync(join(d, 'ignored.bin'), 'nope');
  writeFileSync(join(d, '.hidden.txt'), 'nope');
  const got: string[] = [];
  for await (const t of readTrainingTexts(d)) got.push(t);
  assert.deepEqual(got, ['row 1\n', 'row 2', 'one\n', 'two  \n', '\n', 'three', 'x'.repeat(3 << 20) + '\n', 'y\n']);

  writeFileSync(join(d, 'bad.jsonl'), '{"text": "ok"}\n{"txt": "no"}\n');
  await assert.rejects(async () => { for await (const _ of readTrainingTexts(join(d, 'bad.jsonl'))) { /* drain */ } },
    (e: Error) => e instanceof GptuneError && /bad\.jsonl:2: .*"text"/.test(e.message));
  await assert.rejects(async () => { for await (const _ of readTrainingTexts(join(d, 'missing'))) { /* drain */ } }, GptuneError);
  const empty = join(d, 'empty');
  mkdirSync(empty);
  await assert.rejects(async () => { for await (const _ of readTrainingTexts(empty)) { /* drain */ } }, /no .*files/);
});

// ---- Hugging Face's own trainer ----
// The devDependency @anush008/tokenizers is HF's Rust tokenizers; its node binding trains with
// BpeTrainer's defaults (vocab 30000, no special tokens, only the bytes seen).

test('matches HF tokenizers merge for merge, and HF loads and encodes with our tokenizer.json', async () => {
  const hf = createRequire(import.meta.url)('@anush008/tokenizers');
  const d = tmp();
  const texts = pseudoText(21, 40000);
  writeFileSync(join(d, 'corpus.txt'), texts.join(''));
  const tok = new hf.Tokenizer(hf.BPE.empty());
  tok.setPreTokenizer(hf.byteLevelPreTokenizer(false, true));
  tok.train([join(d, 'corpus.txt')]);
  tok.save(join(d, 'hf.json'), false);
  const theirs = JSON.parse(readFileSync(join(d, 'hf.json'), 'utf8')).model;
  const lines: string[] = [];
  for await (const t of readTrainingTexts(join(d, 'corpus.txt'))) lines.push(t);
  const ours = trainBpeSync(lines, { vocabSize: 30000, specialTokens: [], initialAlphabet: 'seen' });
  assert.deepEqual(ours.merges, theirs.merges);
  assert.deepEqual(ours.vocab, theirs.vocab);

  const r = trainBpeSync(lines, { vocabSize: 2000 });
  saveTrainedTokenizer(join(d, 'ours'), r, { modelMaxLength: 1024 });
  const loaded = hf.Tokenizer.fromFile(join(d, 'ours', 'tokenizer.json'));
  const enc = referenceEncoder(r);
  for (const s of [texts[1], 'unseen 日本語 😀 naïve', 'a<|endoftext|>b']) {
    const e = await loaded.encode(s);
    const want = s.split('<|endoftext|>').flatMap((part, i) => (i ? [0, ...enc.encode(part)] : enc.encode(part)));
    assert.deepEqual(e.getIds(), want, JSON.stringify(s));
    assert.equal(await loaded.decode(e.getIds(), false), s);
  }
});
