// LoRA targets and modules_to_save on encoder task models, against what PEFT 0.21 selects for the same
// models (test/fixtures/peft_targets/targets.json, made by scripts/fixtures/make_peft_targets.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { taskArchitectureFor } from '../../src/models/registry.js';
import { applyLora, loraModules, modulesToSaveParameters } from '../../src/lora/inject.js';
import { TASK_MODULES_TO_SAVE } from '../../src/lora/config.js';
import { fixturePath } from '../helpers/fixtures.js';

interface PeftCase {
  model_type: string; architecture: string; config: Record<string, unknown>; task_type: 'SEQ_CLS' | 'TOKEN_CLS';
  target_modules: string | string[] | null; modules_to_save: string[] | null;
  lora?: string[]; modules_to_save_wrappers?: string[]; error?: string;
}
const { cases } = JSON.parse(readFileSync(fixturePath('peft_targets', 'targets.json'), 'utf8')) as { cases: PeftCase[] };

/**
 * gptune's selection for a case, modules_to_save passed as `gptune train` passes it (the task type's heads):
 * the LoRA modules, the parameters trained in full, and those of the modules PEFT wraps (or `wrapped`).
 */
function select(c: PeftCase, wrapped = c.modules_to_save_wrappers ?? []): { lora: string[]; saved: string[]; peftSaved: string[] } {
  const config = { ...c.config, architectures: [c.architecture] };
  const model = taskArchitectureFor(config, c.architecture).create(config, c.architecture, c.task_type === 'SEQ_CLS' ? 'seq_cls' : 'token_cls');
  const cfg = { r: 2, lora_alpha: 4, task_type: c.task_type, target_modules: c.target_modules, modules_to_save: c.modules_to_save ?? [...TASK_MODULES_TO_SAVE[c.task_type]] };
  applyLora(model, cfg);
  const peftSaved = model.namedParameters().map(([n]) => n).filter((n) => wrapped.some((m) => n.startsWith(m + '.')));
  return { lora: loraModules(model).map(([n]) => n), saved: modulesToSaveParameters(model, cfg).map(([n]) => n), peftSaved };
}

test('LoRA targets and modules_to_save match PEFT 0.21 wherever PEFT accepts the config', () => {
  const accepted = cases.filter((c) => !c.error);
  assert.ok(accepted.length >= 16, `fixture has ${accepted.length} accepted cases`);
  for (const c of accepted) {
    const what = `${c.architecture} target_modules ${JSON.stringify(c.target_modules)} modules_to_save ${JSON.stringify(c.modules_to_save)}`;
    const got = select(c);
    assert.deepEqual(got.lora, c.lora, `${what}: LoRA modules`);
    assert.deepEqual(got.saved, got.peftSaved, `${what}: parameters trained and saved in full (PEFT wraps ${c.modules_to_save_wrappers})`);
  }
});

test('DistilBERT SEQ_CLS all-linear: pre_classifier is saved in full, never adapted (PEFT itself fails to wrap it)', () => {
  const refused = cases.find((c) => c.architecture === 'DistilBertForSequenceClassification' && c.target_modules === 'all-linear' && c.modules_to_save);
  assert.match(refused?.error ?? '', /modules_to_save cannot be applied/);
  // What PEFT selects when all-linear's list is written out: the same LoRA modules, pre_classifier and classifier in full.
  const listed = cases.find((c) => c.architecture === 'DistilBertForSequenceClassification' && Array.isArray(c.target_modules) && c.modules_to_save)!;
  const got = select(refused!, listed.modules_to_save_wrappers);
  assert.deepEqual(listed.modules_to_save_wrappers, ['pre_classifier', 'classifier']);
  assert.deepEqual(got.lora, listed.lora);
  assert.deepEqual(got.saved, got.peftSaved);
});
