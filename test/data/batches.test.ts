// Batching: right padding that never hides a label, packing with segments / positions and no
// cross-example targets, first-fit rows, seeded shuffling, and exact resume from a saved cursor.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ArrayDataset, Batches, IGNORE_INDEX, TaskEncoder, collate, evalBatches, firstFitPack,
  type Batch, type Example,
} from '../../src/data/index.js';
import { countTargets, shiftLabels } from '../../src/train/losses.js';
import { ByteTokenizer, bytesOf } from '../helpers/byte_tokenizer.js';
import { rng } from '../helpers/close.js';

const I = IGNORE_INDEX;
const ex = (ids: number[], labels: number[] = ids): Example => ({ inputIds: Int32Array.from(ids), labels: Int32Array.from(labels) });

/** n examples of lengths 1..maxLen with distinct ids; labels ignore the first `prompt` tokens. */
function randomExamples(n: number, maxLen: number, seed: number): Example[] {
  const r = rng(seed);
  const out: Example[] = [];
  for (let i = 0; i < n; i++) {
    const len = 1 + Math.floor(r.uniform() * maxLen);
    const prompt = Math.floor(r.uniform() * len);
    const ids = Array.from({ length: len }, (_, k) => (i * 31 + k) % 250);
    out.push(ex(ids, ids.map((id, k) => (k < prompt ? I : id))));
  }
  return out;
}

test('right padding: pads are pad id with ignored labels; the EOS label survives pad == eos', () => {
  const tok = new ByteTokenizer(); // no pad token: pad = eos
  const pad = tok.padId ?? tok.eosId!;
  const enc = new TaskEncoder(tok);
  const long = enc.encodePromptCompletion('Q: 1+1', ' 2');
  const short = enc.encodePromptCompletion('Q', ' A');
  const b = collate([[ex(long.ids, long.labels)], [ex(short.ids, short.labels)]], { padId: pad });
  const T = long.ids.length;
  assert.equal(b.seqLen, T);
  assert.equal(b.batch, 2);
  assert.equal(b.positions, null);
  assert.equal(b.segments, null);
  const row1 = [...b.inputIds.subarray(T, 2 * T)], lab1 = [...b.labels.subarray(T, 2 * T)];
  assert.deepEqual(row1, [...bytesOf('Q A'), pad, pad, pad, pad, pad, pad]);
  assert.deepEqual(lab1, [I, ...bytesOf(' A'), tok.eosId!, I, I, I, I, I]);
  assert.equal(lab1.filter((l) => l === tok.eosId).length, 1, 'the EOS label is kept, the pads after it are not');
  assert.equal(b.targetTokens, countTargets(b.labels, b.batch, b.seqLen));
  assert.equal(b.targetTokens, 3 + 3);
  // padTo 'max' pads to seqLen.
  const m = collate([[ex([1, 2])]], { padId: 0, seqLen: 6, padTo: 'max' });
  assert.deepEqual([...m.inputIds], [1, 2, 0, 0, 0, 0]);
  assert.deepEqual([...m.labels], [1, 2, I, I, I, I]);
  assert.throws(() => collate([[ex([1, 2, 3])]], { padId: 0, seqLen: 2 }), /more than seqLen 2/);
});

test('packing: segments, positions restarting per example, and the first label of each example ignored', () => {
  const a = ex([1, 2, 3]), b = ex([4, 5], [I, 5]), c = ex([6, 7, 8, 9]);
  const batch = collate([[a, b], [c]], { padId: 0, seqLen: 6, padTo: 'max', packed: true });
  assert.deepEqual([...batch.inputIds], [1, 2, 3, 4, 5, 0, /**/ 6, 7, 8, 9, 0, 0]);
  assert.deepEqual([...batch.labels], [I, 2, 3, I, 5, I, /**/ I, 7, 8, 9, I, I]);
  assert.deepEqual([...batch.positions!], [0, 1, 2, 0, 1, 0, /**/ 0, 1, 2, 3, 0, 1]);
  assert.deepEqual([...batch.segments!], [0, 0, 0, 1, 1, 2, /**/ 0, 0, 0, 0, 1, 1]);
  assert.equal(batch.targetTokens, 2 + 1 + 3);
  // Without the fix, label 4 at position 3 would be predicted from token 3 of the previous example.
  const targets = shiftLabels(batch.labels, batch.batch, batch.seqLen);
  assert.equal(targets[2], I);
});

test('packing changes neither which tokens are targets nor their count, and never predicts across examples', () => {
  const examples = randomExamples(40, 12, 7);
  const unpacked = new Batches(new ArrayDataset(examples), { batchSize: 4, seqLen: 16, padId: 0 });
  const packed = new Batches(new ArrayDataset(examples), { batchSize: 4, seqLen: 16, padId: 0, packing: true });
  // (context ids so far within the example, target) pairs, from each kind of batch.
  const pairs = (b: Batch): string[] => {
    const out: string[] = [];
    for (let r = 0; r < b.batch; r++) {
      for (let t = 0; t + 1 < b.seqLen; t++) {
        const target = b.labels[r * b.seqLen + t + 1];
        if (target === I) continue;
        if (b.segments) assert.equal(b.segments[r * b.seqLen + t], b.segments[r * b.seqLen + t + 1], 'a target crosses examples');
        let s = t; // the example's own context: back to its segment start (or row start)
        while (s > 0 && (!b.segments || b.segments[r * b.seqLen + s - 1] === b.segments[r * b.seqLen + t])) s--;
        out.push(`${[...b.inputIds.subarray(r * b.seqLen + s, r * b.seqLen + t + 1)]}->${target}`);
      }
    }
    return out;
  };
  const collect = (it: Batches) => {
    const all: string[] = [];
    let tokens = 0;
    for (let k = 0; k < it.batchesPerEpoch; k++) {
      const b = it.next();
      tokens += b.targetTokens;
      all.push(...pairs(b));
    }
    return { all: all.sort(), tokens };
  };
  const u = collect(unpacked), p = collect(packed);
  assert.ok(packed.batchesPerEpoch < unpacked.batchesPerEpoch, 'packing uses fewer rows');
  assert.equal(p.tokens, u.tokens);
  assert.deepEqual(p.all, u.all);
});

test('first-fit packing puts each example into the first row with room', () => {
  const p = firstFitPack([5, 3, 4, 2, 6, 1], 8);
  assert.deepEqual([...p.rowStart], [0, 2, 5, 6]);
  assert.deepEqual([...p.order], [0, 1, 2, 3, 5, 4]);
  // Against a naive first-fit on random lengths.
  const r = rng(3);
  const lengths = Array.from({ length: 200 }, () => 1 + Math.floor(r.uniform() * 20));
  const free: number[] = [], rowOf: number[] = [];
  for (const len of lengths) {
    let row = free.findIndex((f) => f >= len);
    if (row < 0) { row = free.length; free.push(20); }
    free[row] -= len;
    rowOf.push(row);
  }
  const fast = firstFitPack(lengths, 20);
  assert.equal(fast.rowStart.length - 1, free.length);
  for (let row = 0; row < free.length; row++) {
    const got = [...fast.order.subarray(fast.rowStart[row], fast.rowStart[row + 1])];
    assert.deepEqual(got, rowOf.flatMap((x, i) => (x === row ? [i] : [])));
  }
  assert.throws(() => firstFitPack([3, 9], 8), /example 1 has 9 tokens/);
});

test('epochs: every example once per epoch, seeded shuffle differs per epoch, in order without shuffle', () => {
  const examples = Array.from({ length: 10 }, (_, i) => ex([i, i]));
  const firsts = (it: Batches, n: number) => Array.from({ length: n }, () => [...it.next().inputIds].filter((_, k) => k % 2 === 0)).flat();
  const ordered = new Batches(new ArrayDataset(examples), { batchSize: 3, seqLen: 4, padId: 0 });
  assert.equal(ordered.batchesPerEpoch, 4);
  assert.deepEqual(firsts(ordered, 4), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(ordered.epoch, 0);
  ordered.next();
  assert.equal(ordered.epoch, 1);

  const a = new Batches(new ArrayDataset(examples), { batchSize: 2, seqLen: 4, padId: 0, shuffle: true, seed: 42 });
  const e0 = firsts(a, 5), e1 = firsts(a, 5);
  assert.deepEqual([...e0].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual([...e1].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.notDeepEqual(e0, e1);
  const same = new Batches(new ArrayDataset(examples), { batchSize: 2, seqLen: 4, padId: 0, shuffle: true, seed: 42 });
  assert.deepEqual(firsts(same, 5), e0);
  const other = new Batches(new ArrayDataset(examples), { batchSize: 2, seqLen: 4, padId: 0, shuffle: true, seed: 43 });
  assert.notDeepEqual(firsts(other, 5), e0);

  const dl = new Batches(new ArrayDataset(examples), { batchSize: 3, seqLen: 4, padId: 0, dropLast: true });
  assert.equal(dl.batchesPerEpoch, 3);
  assert.deepEqual([...evalBatches(new ArrayDataset(examples), { batchSize: 4, seqLen: 4, padId: 0 })].map((b) => b.batch), [4, 4, 2]);
});

for (const packing of [false, true]) {
  test(`resume: 7 batches, save, 5 more; a fresh iterator restored from the state gives the same 5 (packing ${packing})`, () => {
    const examples = randomExamples(23, 10, 11);
    const opts = { batchSize: 3, seqLen: 12, padId: 0, shuffle: true, seed: 5, packing };
    const it = new Batches(new ArrayDataset(examples), opts);
    assert.ok(it.batchesPerEpoch < 12, 'the 12 batches cross an epoch boundary');
    for (let k = 0; k < 7; k++) it.next();
    const saved = JSON.parse(JSON.stringify(it.state()));
    const expected = Array.from({ length: 5 }, () => it.next());
    const fresh = new Batches(new ArrayDataset(examples), opts);
    fresh.restore(saved);
    assert.equal(fresh.epoch, saved.epoch);
    for (const want of expected) assert.deepEqual(fresh.next(), want);
    assert.deepEqual(fresh.state(), it.state());
    assert.throws(() => new Batches(new ArrayDataset(examples), { ...opts, batchSize: 4 }).restore(saved), /does not fit this data/);
  });
}

test('an example longer than seqLen is an error that says to truncate when loading', () => {
  const it = new Batches(new ArrayDataset([ex([1, 2, 3, 4, 5])]), { batchSize: 1, seqLen: 4, padId: 0 });
  assert.throws(() => it.next(), /example 0 has 5 tokens, more than seqLen 4; truncate it when loading/);
  assert.throws(() => new Batches(new ArrayDataset([]), { batchSize: 1, seqLen: 4, padId: 0 }), /the dataset is empty/);
});
