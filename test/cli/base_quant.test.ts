// --base-quant through the CLI: LoRA trains on an int8 base and its adapter generates on a q4 one;
// eval reports the loss on a quantized base next to the unquantized one; full fine-tuning refuses it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fixturePath, fixtureCases } from '../helpers/fixtures.js';
import { loadModel } from '../../src/models/load.js';
import { fuseLora, loadAdapter, mergeLora } from '../../src/lora/index.js';
import { tempDir } from '../helpers/temp_dir.js';

const BIN = join(fixturePath(), '..', '..', 'bin', 'gptune.js');

function gptune(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, GPTUNE_VERBOSE: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('train --method lora --base-quant int8, then generate with the adapter on an int8 and a q4 base; eval deltas', () => {
  const dir = tempDir('quant-');
  try {
    const model = fixturePath('llama-tiny');
    const data = join(dir, 'ids.jsonl');
    writeFileSync(data, Array.from({ length: 8 }, (_, i) => JSON.stringify({ input_ids: Array.from({ length: 16 }, (_, t) => (i * 31 + t * 7) % 512) })).join('\n') + '\n');
    const out = join(dir, 'run');
    const r = gptune('train', '--model', model, '--data', data, '--out', out, '--method', 'lora', '--base-quant', 'int8', '--max-steps', '12', '--batch-size', '4', '--lr', '1e-2', '--lora-dropout', '0', '--no-progress');
    assert.equal(r.code, 0, r.err);
    assert.ok(existsSync(join(out, 'adapter_model.safetensors')), 'a PEFT adapter is saved');
    const losses = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => typeof m.loss === 'number' && m.split !== 'eval').map((m) => m.loss as number);
    assert.ok(losses.length >= 10 && losses.at(-1)! < losses[0], `train losses ${losses.join(' ')}`);

    const prompt = fixtureCases('llama-tiny').generate.prompt_ids[0].join(',');
    for (const quant of ['int8', 'q4']) {
      const g = gptune('generate', '--model', model, '--adapter', out, '--base-quant', quant, '--prompt-ids', prompt, '--max-new-tokens', '6', '--json');
      assert.equal(g.code, 0, g.err);
      assert.equal(JSON.parse(g.out).ids.length, 6);
    }
    const loss = (...extra: string[]) => {
      const e = gptune('eval', '--model', model, '--data', data, '--json', ...extra);
      assert.equal(e.code, 0, e.err);
      return JSON.parse(e.out).loss as number;
    };
    const base = loss(), int8 = loss('--base-quant', 'int8'), q4 = loss('--base-quant', 'q4'), nf4 = loss('--base-quant', 'nf4');
    assert.ok(int8 !== base && Math.abs(int8 - base) < 0.01, `int8 ${int8} vs f32 ${base}`);
    assert.ok(q4 !== base && Math.abs(q4 - base) < 0.2, `q4 ${q4} vs f32 ${base}`);
    assert.ok(nf4 !== base && Math.abs(nf4 - base) < 0.2, `nf4 ${nf4} vs f32 ${base}`);
    console.log(`llama-tiny eval loss: f32 ${base.toFixed(5)}, int8 ${int8.toFixed(5)}, q4 ${q4.toFixed(5)}, nf4 ${nf4.toFixed(5)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('train --method lora --base-quant nf4 (QLoRA), generate on the nf4 base; merge/export put the adapter into the unquantized base (GGUF has no NF4)', () => {
  const dir = tempDir('nf4-');
  try {
    const model = fixturePath('llama-tiny');
    const data = join(dir, 'ids.jsonl');
    writeFileSync(data, Array.from({ length: 8 }, (_, i) => JSON.stringify({ input_ids: Array.from({ length: 16 }, (_, t) => (i * 29 + t * 5) % 512) })).join('\n') + '\n');
    const out = join(dir, 'run');
    const r = gptune('train', '--model', model, '--data', data, '--out', out, '--method', 'lora', '--base-quant', 'nf4', '--max-steps', '12', '--batch-size', '4', '--lr', '1e-2', '--lora-dropout', '0', '--no-progress');
    assert.equal(r.code, 0, r.err);
    const losses = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => typeof m.loss === 'number' && m.split !== 'eval').map((m) => m.loss as number);
    assert.ok(losses.length >= 10 && losses.at(-1)! < losses[0], `train losses ${losses.join(' ')}`);
    const prompt = fixtureCases('llama-tiny').generate.prompt_ids[0].join(',');
    const g = gptune('generate', '--model', model, '--adapter', out, '--base-quant', 'nf4', '--prompt-ids', prompt, '--max-new-tokens', '6', '--json');
    assert.equal(g.code, 0, g.err);
    assert.equal(JSON.parse(g.out).ids.length, 6);
    // merge (and export, which merges the same way) read the base from its checkpoint, not NF4 blocks.
    const merged = join(dir, 'merged');
    const e = gptune('merge', '--model', model, '--adapter', out, '--out', merged);
    assert.equal(e.code, 0, e.err);
    const want = loadModel(model).model;
    loadAdapter(want, out);
    mergeLora(want);
    fuseLora(want);
    const wanted = new Map(want.namedParameters());
    for (const [n, p] of loadModel(merged).model.namedParameters()) {
      const w = wanted.get(n)!.toFloat32();
      assert.ok(p.data.every((v, i) => v === w[i]), `${n}: merged from the unquantized base`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--base-quant with full fine-tuning is refused before loading', () => {
  const dir = tempDir('quant-');
  try {
    const data = join(dir, 'ids.jsonl');
    writeFileSync(data, JSON.stringify({ input_ids: [1, 2, 3, 4] }) + '\n');
    const r = gptune('train', '--model', fixturePath('llama-tiny'), '--data', data, '--out', join(dir, 'run'), '--method', 'full', '--base-quant', 'q4', '--no-progress');
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /--base-quant q4 needs --method lora/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
