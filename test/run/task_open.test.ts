// openTaskModel: the fixture classifiers open with their labels, a PEFT adapter (head in modules_to_save)
// gives PEFT's logits, and models without a head (a causal LM, a masked LM, a fresh head) are refused by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openTaskModel, requireClassifier } from '../../src/run/task_open.js';
import { noGrad } from '../../src/tensor/tape.js';
import { expectClose } from '../helpers/close.js';
import { fixtureCases, fixturePath, fixtureTensors } from '../helpers/fixtures.js';
import { taskFixtureInput } from '../models/task_fixture_runner.js';
import { tempDir } from '../helpers/temp_dir.js';

const SEQCLS = fixturePath('enc', 'bert-seqcls');

test('openTaskModel: a sequence classifier with its labels and padding id, no tokenizer in the folder', () => {
  const m = openTaskModel(SEQCLS);
  assert.equal(m.model.task, 'seq_cls');
  assert.equal(m.model.architecture, 'BertForSequenceClassification');
  assert.deepEqual(m.labels.id2label, ['neg', 'neu', 'pos']);
  assert.equal(m.labels.problemType, 'single_label_classification');
  assert.equal(m.tok, null);
  assert.equal(m.padId, 0);
  assert.deepEqual(m.newlyInitialized, []);
});

test('openTaskModel: a PEFT SEQ_CLS adapter gives PEFT\'s logits; the adapter folder\'s tokenizer is used', () => {
  const tmp = tempDir('taskopen-');
  try {
    for (const f of readdirSync(join(SEQCLS, 'lora'))) copyFileSync(join(SEQCLS, 'lora', f), join(tmp, f));
    copyFileSync(fixturePath('tokenizers', 'bert-base-uncased', 'vocab.txt'), join(tmp, 'vocab.txt'));
    const m = openTaskModel(SEQCLS, { adapter: tmp });
    assert.ok(m.tok, 'tokenizer from the adapter folder');
    assert.equal(m.tok.tokenizer.encode('hello world').length > 0, true);
    const { input } = taskFixtureInput(fixtureCases('enc/bert-seqcls'));
    const logits = noGrad(() => m.model.eval().forward(input));
    const want = fixtureTensors('enc', 'bert-seqcls', 'lora', 'lora_cases.safetensors').get('logits')!.data;
    expectClose('adapter logits', logits.data, want, { atol: fixtureCases('enc/bert-seqcls').tolerances.logits_atol, rtol: 0 });
    // A TOKEN_CLS adapter is for another head.
    writeFileSync(join(tmp, 'adapter_config.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(tmp, 'adapter_config.json'), 'utf8')), task_type: 'TOKEN_CLS' }));
    assert.throws(() => openTaskModel(SEQCLS, { adapter: tmp }), /task_type 'TOKEN_CLS' is for another head.*'SEQ_CLS' adapter/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('openTaskModel: a causal LM, a masked LM and a missing head are refused with what to do', () => {
  assert.throws(() => openTaskModel(fixturePath('gpt2-tiny')), /GPT2LMHeadModel is a causal language model with no classification head: .*gptune train --model .* --task seq-cls/);
  const mlm = openTaskModel(fixturePath('enc', 'bert-mlm'));
  assert.throws(() => requireClassifier(mlm, 'gptune predict'), /BertForMaskedLM is a masked-LM checkpoint with no classification head, which gptune predict needs/);
  // Asked for a head the checkpoint lacks: random outputs, refused unless training.
  assert.throws(() => openTaskModel(fixturePath('enc', 'bert-mlm'), { task: 'seq_cls' }), /head \(.*classifier\.weight.*\) is not in the checkpoint.*gptune train/);
  const fresh = openTaskModel(fixturePath('enc', 'bert-mlm'), { task: 'seq_cls', allowNewHead: true, id2label: ['a', 'b'] });
  assert.ok(fresh.newlyInitialized.includes('classifier.weight') && fresh.newlyInitialized.includes('classifier.bias'), fresh.newlyInitialized.join(', '));
  assert.equal(fresh.model.numLabels, 2);
});
