// LoRA adapters through llama.cpp: the PEFT fixture adapters exported as LoRA GGUF files and applied by
// llama.cpp over the exported base (--lora) give gptune's greedy ids with the adapter; so does the
// base exported with the adapter merged (--adapter).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportGguf } from '../../src/export/gguf.js';
import { exportGgufLora } from '../../src/export/gguf_lora.js';
import { loadModel } from '../../src/models/load.js';
import { loadAdapter } from '../../src/lora/index.js';
import { loadTokenizerDir } from '../../src/tokenizers/load.js';
import { fixturePath } from '../helpers/fixtures.js';
import { gptuneGreedy, gptuneLogProbs, llamaGreedy, llamaLogProbs, loadGguf, maxLogProbDiff } from './llama_cpp.js';
import { gpt2TinyDir, llamaTinyDir } from './tiny_models.js';
import { tempDir } from '../helpers/temp_dir.js';

const ROOT = tempDir('gguf-lora-');
const TOLERANCE = 0.005; // as for the f32 base exports (GPT-2's GELU comes from an f16 table in llama.cpp)

async function checkAdapter(label: string, dir: string, adapter: string): Promise<void> {
  const withAdapter = loadModel(dir);
  loadAdapter(withAdapter.model, adapter);
  const baseOnly = loadModel(dir);
  const prompt = loadTokenizerDir(dir)!.tokenizer.encode('The model runs');
  const ours = gptuneGreedy(withAdapter.model, prompt, 32);
  assert.notDeepEqual(ours, gptuneGreedy(baseOnly.model, prompt, 32), `${label}: the adapter changes the greedy ids`);

  const base = join(ROOT, `${label}.gguf`);
  const lora = join(ROOT, `${label}-lora.gguf`);
  const merged = join(ROOT, `${label}-merged.gguf`);
  exportGguf({ model: dir, dtype: 'f32', out: base });
  exportGgufLora({ model: dir, adapter, dtype: 'f32', out: lora, baseGguf: base });
  exportGguf({ model: dir, adapter, dtype: 'f32', out: merged });

  const modelfile = readFileSync(join(ROOT, `${label}-lora.Modelfile`), 'utf8');
  assert.match(modelfile, new RegExp(`^FROM \\./${label}\\.gguf\\nADAPTER \\./${label}-lora\\.gguf$`, 'm'));

  const m = await loadGguf(base);
  try {
    assert.deepEqual(await llamaGreedy(m, prompt, 32, lora), ours, `${label}: greedy ids with the LoRA GGUF`);
    assert.deepEqual(await llamaGreedy(m, prompt, 32), gptuneGreedy(baseOnly.model, prompt, 32), `${label}: greedy ids of the base alone`);
  } finally {
    await m.dispose();
  }
  const mm = await loadGguf(merged);
  try {
    assert.deepEqual(await llamaGreedy(mm, prompt, 32), ours, `${label}: greedy ids of the merged export`);
    const seq = [...prompt, ...ours];
    const diff = maxLogProbDiff(gptuneLogProbs(withAdapter.model, seq), await llamaLogProbs(mm, seq, withAdapter.model.vocabSize));
    assert.ok(diff < TOLERANCE, `${label}: merged log-probabilities differ by ${diff}`);
  } finally {
    await mm.dispose();
  }
}

function sub(name: string): string {
  const d = join(ROOT, name);
  mkdirSync(d, { recursive: true });
  return d;
}

test('llama-tiny with its PEFT adapter (q_proj: lora_b rows permuted, v_proj) in llama.cpp', async () => {
  await checkAdapter('llama-tiny', llamaTinyDir(sub('llama-tiny-model')), fixturePath('llama-tiny', 'lora'));
});

test('gpt2-tiny with its PEFT adapter (Conv1D c_attn, c_proj, c_fc) in llama.cpp', async () => {
  await checkAdapter('gpt2-tiny', gpt2TinyDir(sub('gpt2-tiny-model')), fixturePath('gpt2-tiny', 'lora'));
});

test('gguf-lora refuses q8_0 and an existing file', () => {
  const dir = llamaTinyDir(sub('refusals'));
  const out = join(ROOT, 'refusals-lora.gguf');
  assert.throws(() => exportGgufLora({ model: dir, adapter: fixturePath('llama-tiny', 'lora'), dtype: 'q8_0' as 'f32', out }), /f32, f16 or bf16/);
  exportGgufLora({ model: dir, adapter: fixturePath('llama-tiny', 'lora'), dtype: 'f16', out });
  assert.throws(() => exportGgufLora({ model: dir, adapter: fixturePath('llama-tiny', 'lora'), dtype: 'f16', out }), /already exists \(pass --overwrite/);
  exportGgufLora({ model: dir, adapter: fixturePath('llama-tiny', 'lora'), dtype: 'f16', out, overwrite: true });
});
