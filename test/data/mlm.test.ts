// Masked-LM masks (HF's DataCollatorForLanguageModeling rules): proportions, specials and padding never
// chosen, whole words together, seeded and resumable; and the special-token and word-start rules
// against what HF's own collator decides on real tokenizers (test/fixtures/mlm/mlm_rules.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { maskBatch, MaskedLMBatches, wordStarts, WORD_START, type MaskingOptions } from '../../src/data/mlm.js';
import { Batches } from '../../src/data/batches.js';
import { ArrayDataset } from '../../src/data/corpus.js';
import { IGNORE_INDEX, type Batch } from '../../src/data/types.js';
import { maskedLMTokens, withRobertaSpecials, wordBoundaries } from '../../src/tokenizers/mlm_tokens.js';
import { loadTokenizerDir, resolveTokenizer } from '../../src/tokenizers/load.js';
import { FIXTURES, fixturePath } from '../helpers/fixtures.js';

const V = 1000, MASK = 3;
const special = new Uint8Array(V); special[0] = special[1] = special[2] = special[3] = 1; // pad, cls, sep, mask
const opts: MaskingOptions = { maskId: MASK, vocabSize: V, special, probability: 0.15 };

/** B rows of [CLS] tokens [SEP] with the last `pad` positions of odd rows padded (labels -100, as collate leaves them). */
function corpusBatch(B: number, T: number, pad = 0): Batch {
  const inputIds = new Int32Array(B * T), labels = new Int32Array(B * T);
  for (let r = 0; r < B; r++) for (let t = 0; t < T; t++) {
    const i = r * T + t;
    const padded = r % 2 === 1 && t >= T - pad;
    inputIds[i] = padded ? 0 : t === 0 ? 1 : t === T - 1 - (r % 2 ? pad : 0) ? 2 : 4 + ((r * 7919 + t * 104729) % (V - 4));
    labels[i] = padded ? IGNORE_INDEX : inputIds[i];
  }
  return { inputIds, labels, batch: B, seqLen: T, positions: null, segments: null, targetTokens: 0 };
}

test('mlm: 15% of eligible tokens chosen; of them 80% [MASK], 10% random, 10% unchanged; specials and padding never', () => {
  const b = corpusBatch(64, 256, 40);
  const m = maskBatch(b, opts, 1234);
  let eligible = 0, chosen = 0, masked = 0, random = 0, same = 0;
  for (let i = 0; i < b.inputIds.length; i++) {
    const orig = b.inputIds[i];
    const isPad = b.labels[i] === IGNORE_INDEX;
    if (isPad || special[orig]) {
      assert.equal(m.labels[i], IGNORE_INDEX, `special/pad at ${i} chosen`);
      assert.equal(m.inputIds[i], orig);
      if (isPad) assert.equal(m.attentionMask![i], 0);
      continue;
    }
    eligible++;
    assert.equal(m.attentionMask![i], 1);
    if (m.labels[i] === IGNORE_INDEX) { assert.equal(m.inputIds[i], orig, 'unchosen token changed'); continue; }
    assert.equal(m.labels[i], orig, 'label is the original token');
    chosen++;
    if (m.inputIds[i] === MASK) masked++;
    else if (m.inputIds[i] === orig) same++;
    else random++;
  }
  assert.equal(m.targetTokens, chosen);
  // Binomial bounds of about 4 standard deviations.
  assert.ok(Math.abs(chosen / eligible - 0.15) < 0.012, `chosen ${chosen / eligible}`);
  assert.ok(Math.abs(masked / chosen - 0.8) < 0.035, `[MASK] ${masked / chosen}`);
  assert.ok(Math.abs(random / chosen - 0.1) < 0.03, `random ${random / chosen}`);
  assert.ok(Math.abs(same / chosen - 0.1) < 0.03, `unchanged ${same / chosen}`);
});

test('mlm: the same seed draws the same masks, another seed others; rows do not depend on the batch size', () => {
  const b = corpusBatch(8, 64);
  assert.deepEqual(maskBatch(b, opts, 7), maskBatch(b, opts, 7));
  assert.notDeepEqual(maskBatch(b, opts, 7).labels, maskBatch(b, opts, 8).labels);
  const two = corpusBatch(2, 64);
  assert.deepEqual(maskBatch(two, opts, 7).labels, maskBatch(b, opts, 7).labels.subarray(0, 128));
});

test('mlm: masks change each epoch (dynamic masking) and a restored cursor draws the same masks', () => {
  const rows = Array.from({ length: 6 }, (_, r) => { const x = Int32Array.from({ length: 32 }, (_, t) => 4 + ((r * 31 + t * 17) % 900)); return { inputIds: x, labels: x.slice() }; });
  const make = () => new MaskedLMBatches(new Batches(new ArrayDataset(rows), { batchSize: 2, seqLen: 32, padId: 0, shuffle: true, seed: 5 }), opts, 11);
  const a = make();
  const firstEpoch = [a.next(), a.next(), a.next()];
  const state = a.state();
  const rest = [a.next(), a.next(), a.next(), a.next()];
  const b = make();
  b.restore(JSON.parse(JSON.stringify(state)));
  for (const want of rest) assert.deepEqual(b.next(), want);
  // Epoch 2 shows the same rows with other masks: match rows by their original ids.
  const key = (x: Batch, r: number) => Array.from(x.inputIds.subarray(r * 32, r * 32 + 32)).map((v, t) => (x.labels[r * 32 + t] === IGNORE_INDEX ? v : x.labels[r * 32 + t])).join(',');
  const e1 = new Map<string, string>(), e2 = new Map<string, string>();
  for (const x of firstEpoch) for (let r = 0; r < 2; r++) e1.set(key(x, r), Array.from(x.labels.subarray(r * 32, r * 32 + 32)).join(','));
  for (const x of rest.slice(0, 3)) for (let r = 0; r < 2; r++) e2.set(key(x, r), Array.from(x.labels.subarray(r * 32, r * 32 + 32)).join(','));
  let differ = 0;
  for (const [k, v] of e1) { assert.ok(e2.has(k), 'epoch 2 has the same rows'); if (e2.get(k) !== v) differ++; }
  assert.ok(differ >= 4, `only ${differ} of 6 rows got new masks`);
});

test('mlm: whole-word masking chooses words (15% of them) and masks every token of a chosen word with [MASK]', () => {
  const flags = new Uint8Array(V);
  for (let id = 4; id < V; id++) if (id % 3 === 0) flags[id] = WORD_START; // a third of the vocab begins words
  const b = corpusBatch(64, 256);
  const m = maskBatch(b, { ...opts, wholeWord: flags }, 99);
  let words = 0, chosenWords = 0;
  for (let r = 0; r < 64; r++) {
    const row = b.inputIds.subarray(r * 256, r * 256 + 256);
    const starts = wordStarts(row, null, special, flags);
    let wordState: boolean | null = null;
    for (let t = 0; t < 256; t++) {
      const i = r * 256 + t;
      if (special[row[t]]) { assert.equal(m.labels[i], IGNORE_INDEX); wordState = null; continue; }
      const chosen = m.labels[i] !== IGNORE_INDEX;
      if (chosen) assert.equal(m.inputIds[i], MASK, 'whole-word masking uses [MASK] only');
      if (starts[t]) { words++; if (chosen) chosenWords++; wordState = chosen; } else assert.equal(chosen, wordState, `word split at row ${r} t ${t}`);
    }
  }
  assert.ok(Math.abs(chosenWords / words - 0.15) < 0.02, `words chosen ${chosenWords / words}`);
});

const rules = JSON.parse(readFileSync(join(FIXTURES, 'mlm', 'mlm_rules.json'), 'utf8'));
const PUNCT = /^[\p{P}\p{S}]+$/u;

test('mlm: specials and word starts as HF\'s collator decides them (bert-base-uncased, the base model\'s BPE + RoBERTa specials)', () => {
  const bert = loadTokenizerDir(fixturePath('tokenizers', 'bert-base-uncased'))!;
  const roberta = withRobertaSpecials(resolveTokenizer('assets/base-model'), 'assets/base-model')!.tokenizer;
  for (const [name, tok, wp] of [['bert-base-uncased', bert, true], ['base-model+roberta', roberta, false]] as const) {
    const mt = maskedLMTokens(tok, name);
    const flags = wordBoundaries(tok.tokenizer);
    for (const c of rules[name]) {
      assert.deepEqual(tok.tokenizer.encode(c.text), c.input_ids, `${name}: ids of ${JSON.stringify(c.text)}`);
      assert.deepEqual(c.input_ids.map((id: number) => 1 - mt.special[id]), c.choosable, `${name}: choosable tokens`);
      const ours = wordStarts(c.input_ids, null, mt.special, flags);
      c.word_start.forEach((hf: number, t: number) => {
        if (ours[t] === hf) return;
        // From ids alone a WordPiece word is a pre-token: punctuation touching a word starts its own (HF 5 reads offsets).
        const piece = tok.tokenizer.idToToken(c.input_ids[t])!, prev = tok.tokenizer.idToToken(c.input_ids[t - 1]) ?? '';
        assert.ok(wp && ours[t] === 1 && (PUNCT.test(piece) || PUNCT.test(prev)), `${name}: word start at ${t} ('${piece}'): ours ${ours[t]}, HF ${hf}`);
      });
    }
  }
});
