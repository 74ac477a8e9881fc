// Chat data on a model without a chat template (the shipped base model): training renders ChatML and
// saves it with the result, so openModel with the adapter (generate, chat, serve) renders the same;
// a LoRA adapter and a full fine-tune each carry chat_template.jinja.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../src/index.js';
import { openModel } from '../../src/run/model.js';
import { CHATML_TEMPLATE } from '../../src/tokenizers/chat_template.js';
import { tempDir } from '../helpers/temp_dir.js';

const root = process.cwd();
const base = join(root, 'assets', 'base-model');

test('chat data without a model template: ChatML is saved with the adapter and the full model, and opened with them', async () => {
  const tmp = tempDir('chatml-');
  const data = join(tmp, 'chat.jsonl');
  writeFileSync(data, Array.from({ length: 6 }, (_, i) => JSON.stringify({ messages: [
    { role: 'user', content: `Where is order ${i}?` }, { role: 'assistant', content: `Order ${i} ships tomorrow.` }] })).join('\n') + '\n');
  assert.equal(openModel(base).chatTemplate, undefined, 'the base model has no template');
  for (const method of ['lora', 'full'] as const) {
    const out = join(tmp, method);
    const { values } = run.resolveOptions(run.TRAIN_OPTIONS, { flags: { model: base, data, out, method, maxSteps: 1, batchSize: 2, progress: false } });
    await run.runTraining(values);
    assert.equal(readFileSync(join(out, 'chat_template.jinja'), 'utf8'), CHATML_TEMPLATE, method);
    const opened = method === 'lora' ? openModel(base, { adapter: out }) : openModel(out);
    assert.equal(opened.chatTemplate?.source, CHATML_TEMPLATE, `${method}: generate/chat/serve render what training rendered`);
  }
  // Prompt/completion data renders no template: none is saved.
  const pc = join(tmp, 'pc');
  const { values } = run.resolveOptions(run.TRAIN_OPTIONS, { flags: { model: base, data: join(root, 'data', 'support', 'train.jsonl'), out: pc, maxSteps: 1, batchSize: 2, progress: false } });
  await run.runTraining(values);
  assert.ok(!existsSync(join(pc, 'chat_template.jinja')));
});
