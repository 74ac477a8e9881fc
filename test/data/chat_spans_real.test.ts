// Multi-turn chat rows with real templates that do not render prefixes as prefixes of the whole
// (Qwen3 drops earlier turns' reasoning and adds an empty think block to the last turn), and the
// prefix-stable ones of Llama 3, Llama 3.1, Gemma 3 and DeepSeek-V3: the trained
// tokens are exactly each assistant message's text and its end-of-turn marker, in every turn.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatTemplate, TaskEncoder, IGNORE_INDEX } from '../../src/data/index.js';
import { builtinTokenizer, loadTokenizerDir } from '../../src/tokenizers/load.js';
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

// No template in the model (Llama 2's package, GPT-2): ChatML is rendered, and its <|im_end|> is not a
// token of these vocabularies. The trained text is each reply and its <|im_end|> (several tokens), the
// newline after it is context, and no EOS is inserted that the rendered text does not hold.
for (const name of ['llama2', 'gpt2'] as const) {
  test(`${name} without a chat template: ChatML trained as rendered, through <|im_end|>, no EOS added`, () => {
    const tok = name === 'gpt2' ? builtinTokenizer('gpt2') : loadTokenizerDir(lenmlDir(name))!;
    assert.equal(tok.chatTemplate, null);
    const enc = new TaskEncoder(tok.tokenizer, taskEncoding(tok));
    const ex = enc.encodeChat(CHAT);
    assert.deepEqual(trainedRuns(enc, ex.ids, ex.labels), [`${CHAT[2].content}<|im_end|>`, `${CHAT[4].content}<|im_end|>`]);
    const rendered = ChatTemplate.chatml().render(CHAT);
    const lead = enc.leadingIds.length;
    assert.deepEqual(ex.ids.slice(lead), tok.tokenizer.encode(rendered, { addSpecialTokens: false }), 'exactly the rendered text\'s tokens');
    assert.ok(!ex.ids.slice(lead).includes(tok.tokenizer.eosId!), 'no EOS inserted');
    assert.equal(ex.labels[ex.labels.length - 1], IGNORE_INDEX, 'the final newline is not trained');
  });
}
