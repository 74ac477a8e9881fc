// The BOS rule on real tokenizer files: task rows start with BOS exactly when the tokenizer's own
// encode() (HF's Rust tokenizers, add_special_tokens=True) adds it, as generate builds its prompt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTaskData, TaskEncoder, IGNORE_INDEX } from '../../src/data/index.js';
import { loadTokenizerDir } from '../../src/tokenizers/load.js';
import { encodePrompt, leadingSpecialIds } from '../../src/tokenizers/bos.js';
import { taskEncoding } from '../../src/run/model.js';
import { hfFromFile, lenmlDir } from '../tokenizers/hf_reference.js';

const SUPPORT = join(process.cwd(), 'data', 'support', 'train.jsonl');
const rows = readFileSync(SUPPORT, 'utf8').trimEnd().split('\n').slice(0, 6).map((l) => JSON.parse(l) as { prompt: string; completion: string });

async function hfIds(name: string, text: string, addSpecialTokens: boolean): Promise<number[]> {
  const [e] = await hfFromFile(join(lenmlDir(name), 'tokenizer.json')).encodeBatch([text], { addSpecialTokens });
  return e.getIds();
}

test('Llama 3.1: prompt/completion rows start with <|begin_of_text|> once, the prompt ids as HF and generate make them', async () => {
  const tok = loadTokenizerDir(lenmlDir('llama3_1'))!;
  const t = tok.tokenizer;
  const bos = t.tokenToId('<|begin_of_text|>')!;
  assert.deepEqual(leadingSpecialIds(t), [bos]);
  const data = loadTaskData(SUPPORT, t, { maxLength: 1024, ...taskEncoding(tok) });
  for (let i = 0; i < data.train.size; i++) {
    const ids = data.train.get(i).inputIds;
    assert.equal(ids[0], bos, `row ${i} starts with BOS`);
    assert.notEqual(ids[1], bos, `row ${i} has one BOS`);
  }
  for (const [i, r] of rows.entries()) {
    const ex = data.train.get(i);
    const promptIds = Array.from(ex.inputIds.subarray(0, ex.labels.findIndex((l) => l !== IGNORE_INDEX)));
    assert.deepEqual(promptIds, await hfIds('llama3_1', r.prompt, true), `row ${i}: the prompt as HF encodes it with special tokens`);
    assert.deepEqual(promptIds, encodePrompt(t, r.prompt), `row ${i}: the prompt generate would feed`);
  }
  // A prompt that already holds the BOS text, and Meta's chat template (its {{ bos_token }}): one BOS.
  const enc = new TaskEncoder(t, taskEncoding(tok));
  const pc = enc.encodePromptCompletion('<|begin_of_text|>Hi', ' there');
  assert.deepEqual(pc.ids.slice(0, 2), [bos, t.encode('Hi', { addSpecialTokens: false })[0]]);
  assert.deepEqual(encodePrompt(t, '<|begin_of_text|>Hi'), pc.ids.slice(0, 2));
  assert.ok(taskEncoding(tok).chatTemplate, 'the package ships a chat template');
  const chat = enc.encodeChat([{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }]);
  assert.equal(chat.ids[0], bos);
  assert.equal(chat.ids.filter((id) => id === bos).length, 1);
});

test('Qwen3: no BOS anywhere (its tokenizer adds none), as HF encodes the prompt', async () => {
  const tok = loadTokenizerDir(lenmlDir('qwen3'))!;
  const t = tok.tokenizer;
  assert.deepEqual(leadingSpecialIds(t), []);
  const data = loadTaskData(SUPPORT, t, { maxLength: 1024, ...taskEncoding(tok) });
  for (const [i, r] of rows.entries()) {
    const ex = data.train.get(i);
    const promptIds = Array.from(ex.inputIds.subarray(0, ex.labels.findIndex((l) => l !== IGNORE_INDEX)));
    assert.deepEqual(promptIds, await hfIds('qwen3', r.prompt, true), `row ${i}`);
    assert.deepEqual(promptIds, t.encode(r.prompt, { addSpecialTokens: false }));
    assert.ok(!t.isSpecial(ex.inputIds[0]), `row ${i} starts with text`);
  }
});
