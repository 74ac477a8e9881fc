// The batched decode step the server runs: rows at different positions, each with its own KV cache
// and its own adapter (or none), give the logits each sequence gets alone, with the adapter applied
// the usual way (loadAdapter) or no adapter at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../../src/models/load.js';
import { KVCache } from '../../src/models/kv_cache.js';
import { AdapterSet } from '../../src/lora/multi_lora.js';
import { loadAdapter } from '../../src/lora/adapter.js';
import { noGrad, releaseAll } from '../../src/tensor/tape.js';
import { expectClose } from '../helpers/close.js';
import { fixturePath } from '../helpers/fixtures.js';

for (const name of ['llama-tiny', 'gpt2-tiny']) {
  test(`${name}: one decode batch over base and adapter rows at different positions equals each sequence alone`, () => {
    const dir = fixturePath(name);
    const served = loadModel(dir).model.eval();
    const adapters = AdapterSet.load(served, [{ name: 'a', dir: fixturePath(name, 'lora') }, { name: 'b', dir: fixturePath(name, 'lora') }]);
    const plain = loadModel(dir).model.eval();
    const adapted = loadModel(dir).model.eval();
    loadAdapter(adapted, fixturePath(name, 'lora'));
    const V = served.vocabSize, { kvHeads, headDim } = served.kvShape;
    const seqs = [
      { adapter: -1, ids: [5, 9, 13, 2, 7] },
      { adapter: 0, ids: [3, 1] },
      { adapter: 1, ids: [11, 4, 8, 6, 10, 12, 14] },
      { adapter: -1, ids: [20] },
    ];
    const caches = seqs.map((s) => new KVCache(served.numLayers, 1, s.ids.length + 4, kvHeads, headDim));
    // Prefill each sequence alone (all but its last token) into its own cache.
    noGrad(() => seqs.forEach((s, i) => adapters.run(Int32Array.of(s.adapter), () => served.forward(Int32Array.from(s.ids.slice(0, -1)), 1, s.ids.length - 1, { cache: caches[i] }))));
    releaseAll();
    let next = seqs.map((s) => s.ids[s.ids.length - 1]);
    for (let step = 0; step < 3; step++) {
      const logits = noGrad(() => Float32Array.from(adapters.run(Int32Array.from(seqs, (s) => s.adapter),
        () => served.forward(Int32Array.from(next), seqs.length, 1, { rowCaches: caches }).data)));
      releaseAll();
      seqs.forEach((s, i) => {
        const model = s.adapter < 0 ? plain : adapted;
        const T = s.ids.length;
        const want = noGrad(() => Float32Array.from(model.forward(Int32Array.from(s.ids), 1, T).data.subarray((T - 1) * V, T * V)));
        releaseAll();
        expectClose(`${name} step ${step} row ${i}`, logits.subarray(i * V, (i + 1) * V), want, { atol: 2e-5, rtol: 1e-4 });
      });
      next = seqs.map((s, i) => (s.ids.push(7 + step + i), 7 + step + i));
    }
    assert.deepEqual(caches.map((c) => c.length), seqs.map((s) => s.ids.length - 1));
  });
}

test('AdapterSet refuses a name given twice and a forward routed twice', () => {
  const model = loadModel(fixturePath('llama-tiny')).model;
  assert.throws(() => AdapterSet.load(model, [{ name: 'a', dir: fixturePath('llama-tiny', 'lora') }, { name: 'a', dir: fixturePath('llama-tiny', 'lora') }]), /'a' is given twice/);
  const set = AdapterSet.load(model, [{ name: 'a', dir: fixturePath('llama-tiny', 'lora') }]);
  assert.throws(() => set.run(Int32Array.of(0), () => set.run(Int32Array.of(0), () => 0)), /already routed/);
});
