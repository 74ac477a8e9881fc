// The README's library example: a run prepared from the same option declarations the CLI uses, with
// the declarations' defaults and checks applied to values given as a plain object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../src/index.js';
import { tempDir } from '../helpers/temp_dir.js';

const root = process.cwd();

test('run.runTraining with options resolved by run.resolveOptions trains and saves a PEFT adapter', async () => {
  const out = join(tempDir('lib-'), 'support');
  const { values } = run.resolveOptions(run.TRAIN_OPTIONS, {
    flags: { model: join(root, 'assets', 'base-model'), data: join(root, 'data', 'support', 'train.jsonl'), out, loraR: 4, maxSteps: 2, batchSize: 2, progress: false },
  });
  assert.equal(values.loraDropout, 0.05, 'declared default');
  const { summary, prepared } = await run.runTraining(values);
  assert.equal(summary.steps, 2);
  assert.equal(prepared.method, 'lora', 'task data on a pretrained model defaults to LoRA');
  assert.equal(prepared.resolved.loraAlpha, 8, 'alpha defaults to 2 r');
  assert.ok(existsSync(join(out, 'adapter_model.safetensors')));
  assert.equal(JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8')).r, 4);
});

test('run.resolveOptions checks plain values as it checks flags', () => {
  assert.throws(() => run.resolveOptions(run.TRAIN_OPTIONS, { flags: { data: 'x', out: 'y', batchSize: 0 } }), /--batch-size.*\[1, ∞\]/);
  assert.throws(() => run.resolveOptions(run.TRAIN_OPTIONS, { flags: { out: 'y' } }), /--data/);
});

test('--gradient-checkpointing trains the same LoRA weights bit for bit (LoRA dropout replayed in the recomputed blocks)', async () => {
  const adapterAfter = async (gradientCheckpointing: boolean) => {
    const out = join(tempDir('ckpt-'), 'run');
    const { values } = run.resolveOptions(run.TRAIN_OPTIONS, {
      flags: { model: join(root, 'assets', 'base-model'), data: join(root, 'data', 'support', 'train.jsonl'), out, loraR: 4, maxSteps: 3, batchSize: 2, progress: false, gradientCheckpointing },
    });
    await run.runTraining(values);
    return readFileSync(join(out, 'adapter_model.safetensors'));
  };
  assert.ok((await adapterAfter(true)).equals(await adapterAfter(false)));
});
