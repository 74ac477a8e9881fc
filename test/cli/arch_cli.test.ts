// Qwen3, Gemma 3 and Mistral-with-window checkpoints through the gptune command as a user runs it:
// generate (greedy ids equal the real HF class's, the window shorter than prompt + answer), train
// LoRA and full on token-id rows, eval, and merge the adapter into a loadable model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureCases, fixturePath } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp_dir.js';

const BIN = join(fixturePath(), '..', '..', 'bin', 'gptune.js');
function gptune(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

for (const name of ['qwen3-tiny', 'gemma3-tiny', 'mistral-tiny']) {
  test(`${name}: generate, train (LoRA and full), eval and merge through the CLI`, () => {
    const cases = fixtureCases(name);
    const model = fixturePath(name);
    const gen = gptune('generate', '--model', model, '--prompt-ids', cases.generate.prompt_ids[0].join(','),
      '--max-new-tokens', String(cases.generate.max_new_tokens), '--temperature', '0', '--json');
    assert.equal(gen.code, 0, gen.err);
    assert.deepEqual(JSON.parse(gen.out).ids, cases.generate.new_tokens, 'greedy ids of the HF class');

    const dir = tempDir(`${name}-`);
    const data = join(dir, 'ids.jsonl');
    writeFileSync(data, (cases.forward.input_ids as number[][]).map((ids) => JSON.stringify({ input_ids: ids })).join('\n') + '\n');
    const common = ['--model', model, '--data', data, '--seq-len', '16', '--batch-size', '2', '--max-steps', '3', '--lr', '1e-3', '--no-progress'];
    const lora = gptune('train', ...common, '--method', 'lora', '--lora-r', '2', '--out', join(dir, 'lora'));
    assert.equal(lora.code, 0, lora.err);
    assert.ok(existsSync(join(dir, 'lora', 'adapter_model.safetensors')));
    const full = gptune('train', ...common, '--method', 'full', '--out', join(dir, 'full'));
    assert.equal(full.code, 0, full.err);
    assert.ok(existsSync(join(dir, 'full', 'model.safetensors')));

    const before = JSON.parse(gptune('eval', '--model', model, '--data', data, '--json').out).loss;
    const ev = gptune('eval', '--model', join(dir, 'full'), '--data', data, '--json');
    assert.equal(ev.code, 0, ev.err);
    assert.ok(JSON.parse(ev.out).loss < before, `full fine-tuning lowers the loss on its data (${before} -> ${JSON.parse(ev.out).loss})`);

    const merged = gptune('merge', '--model', model, '--adapter', join(dir, 'lora'), '--out', join(dir, 'merged'));
    assert.equal(merged.code, 0, merged.err);
    const withAdapter = gptune('eval', '--model', model, '--adapter', join(dir, 'lora'), '--data', data, '--json');
    const ofMerged = gptune('eval', '--model', join(dir, 'merged'), '--data', data, '--json');
    assert.equal(ofMerged.code, 0, ofMerged.err);
    assert.ok(Math.abs(JSON.parse(withAdapter.out).loss - JSON.parse(ofMerged.out).loss) < 2e-2, 'the merged model computes what base + adapter does');
  });
}
