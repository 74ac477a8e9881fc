// Multi-turn chat rows with real templates that do not render prefixes as prefixes of the whole
// (Qwen3 drops earlier turns' reasoning and adds an empty think block to the last turn), and the
// prefix-stable ones of Llama 3, Llama 3.1, Gemma 3 and DeepSeek-V3: the trained
// tokens are exactly each assistant message's text and its end-of-turn marker, in every turn.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TaskEncoder, IGNORE_INDEX } from '../../src/data/index.js';
import { loadTokenizerDir } from '../../src/tokenizers/load.js';
import { taskEncoding } from '../../src/run/model.js';
import { lenmlDir } from '../tokenizers/hf_reference.js';

const CHAT = [
  { role: 'system', content: 'You are the support desk.' },
  { role: 'user', content: 'My lamp blinks red.' },
  { role: 'assistant', content: 'Hold the power button for 10 seconds.' },
  { role: 'user', content: 'Thanks! And the warranty?' },
  { role: 'assistant', content: 'Two years from delivery.' },
];

/** The trained tokens as runs of text, one per contiguous labelled stretch. */
function trainedRuns(enc: TaskEncoder, ids: number[], labels: number[]): string[] {
  const runs: string[] = [];
  let cur: number[] = [];
  labels.forEach((l, k) => {
    if (l !== IGNORE_INDEX) cur.push(ids[k]);
    else if (cur.length) { runs.push(enc.tok.decode(cur)); cur = []; }
  });
  if (cur.length) runs.push(enc.tok.decode(cur));
  return runs;
}

for (const [name, eot] of [['qwen3', '<|im_end|>'], ['llama3_1', '<|eot_id|>'], ['llama3', '<|eot_id|>'], ['gemma3', '<end_of_turn>'], ['deepseek_v3', '<｜end▁of▁sentence｜>']] as const) {
  test(`${name}: every assistant turn of a multi-turn chat is trained, text and ${eot}, nothing else`, () => {
    const tok = loadTokenizerDir(lenmlDir(name))!;
    const enc = new TaskEncoder(tok.tokenizer, taskEncoding(tok));
    const ex = enc.encodeChat(CHAT);
    assert.deepEqual(trainedRuns(enc, ex.ids, ex.labels), [`${CHAT[2].content}${eot}`, `${CHAT[4].content}${eot}`]);
    assert.deepEqual(ex.ids, tok.tokenizer.encode(tok.tokenizer.decode(ex.ids), { addSpecialTokens: false }), 'the ids are the rendered text\'s own tokens');
  });
}

