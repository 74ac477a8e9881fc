// Chat rows on a tokenizer with no template of its own: gptune renders ChatML, trains exactly the rendered
// text (each reply through its <|im_end|>, however many tokens that is here; no EOS the text lacks; not the
// newline after it), saves the template with the trained model, and serve renders and stops the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHATML_TEMPLATE, ChatTemplate, IGNORE_INDEX, TaskEncoder, explainExample } from '../../src/data/index.js';
import { builtinTokenizer, loadTokenizerDir } from '../../src/tokenizers/load.js';
import { encodePrompt } from '../../src/tokenizers/bos.js';
import { encodeChat, loadServedModel } from '../../src/serve/served_model.js';
import { fixturePath } from '../helpers/fixtures.js';
import { lenmlDir } from '../tokenizers/hf_reference.js';
import { tempDir } from '../helpers/temp_dir.js';

const CHAT = [{ role: 'user', content: 'Hello!' }, { role: 'assistant', content: 'Hi there.' }, { role: 'user', content: 'Bye?' }, { role: 'assistant', content: 'Bye.' }];

for (const [name, load] of [['Llama 2 (SentencePiece, no ChatML tokens)', () => loadTokenizerDir(lenmlDir('llama2'))!], ['GPT-2', () => builtinTokenizer('gpt2')]] as const) {
  test(`ChatML fallback on ${name}: the rendered text is trained through each <|im_end|>, no EOS added, the newline not trained`, () => {
    const lt = load();
    const tok = lt.tokenizer;
    assert.equal(lt.chatTemplate, null);
    assert.ok(tok.encode('<|im_end|>', { addSpecialTokens: false }).length > 1, 'the marker is several tokens here');
    const ex = new TaskEncoder(tok).encodeChat(CHAT);
    const text = ChatTemplate.chatml().render(CHAT);
    assert.deepEqual(ex.ids, encodePrompt(tok, text), 'the ids are the rendered text\'s, BOS rule applied, nothing inserted');
    assert.ok(!ex.labels.includes(tok.eosId!), 'no EOS label');
    const shown = explainExample({ inputIds: Int32Array.from(ex.ids), labels: Int32Array.from(ex.labels) }, tok);
    assert.ok(shown.includes('[[Hi there.<|im_end|>]]\n<|im_start|>user') && shown.endsWith('[[Bye.<|im_end|>]]\n'), shown);
    assert.equal(ex.labels[ex.labels.length - 1], IGNORE_INDEX);
  });
}

test('train on chat rows without a model template saves ChatML as chat_template.jinja; serve renders it and stops on <|im_end|>', () => {
  const dir = tempDir('chatml-');
  const data = join(dir, 'chat.jsonl');
  writeFileSync(data, Array(4).fill(JSON.stringify({ messages: CHAT.slice(0, 2) })).join('\n') + '\n');
  const out = join(dir, 'out');
  const r = spawnSync(process.execPath, [join(fixturePath(), '..', '..', 'bin', 'gptune.js'), 'train', '--init', 'gpt2', '--tokenizer', 'gpt2',
    '--n-layer', '1', '--n-embd', '16', '--n-head', '2', '--seq-len', '64', '--batch-size', '2', '--max-steps', '1', '--data', data, '--out', out, '--no-progress'],
  { encoding: 'utf8', env: { ...process.env, GPTUNE_VERBOSE: '' } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(join(out, 'chat_template.jinja'), 'utf8'), CHATML_TEMPLATE);
  const served = loadServedModel({ modelDir: out });
  assert.equal(served.template.source, CHATML_TEMPLATE);
  assert.ok(served.chatStopStrings.includes('<|im_end|>'));
  // The served prompt is the training row's context up to the reply.
  const ex = new TaskEncoder(builtinTokenizer('gpt2').tokenizer).encodeChat(CHAT.slice(0, 2));
  assert.deepEqual(encodeChat(served, CHAT.slice(0, 1)), ex.ids.slice(0, ex.completionStart));
});
