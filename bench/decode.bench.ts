// Decode speed against llama.cpp, the peer users run for local inference: the same model (the shipped
// base model, and a GPT-2 124M shape with random weights) exported to GGUF by gptune, greedy decoding
// of N tokens after a 16-token prompt, one sequence, the same thread count on both sides: f32; bf16
// and f16 checkpoints kept in their dtype (GEMVs widen as they read: half the bytes) against BF16 /
// F16 GGUFs; gptune's --base-quant int8 / q4 against llama.cpp's Q8_0 / Q4_0 of the same weights.
// Each row states the bandwidth bound: read GB/s over the bytes of weights a token reads.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { BenchContext, BenchRow } from './harness.js';
import { exportGguf } from '../src/export/gguf.js';
import { loadModel, saveModel, type BaseQuant } from '../src/models/load.js';
import type { GgufDType } from '../src/export/gguf.js';
import { createModel } from '../src/models/registry.js';
import { generate } from '../src/generate/generate.js';
import { backend } from '../src/backend/select.js';
import { packagePath } from '../src/util/package_root.js';
import { cpSync } from 'node:fs';
import type { Module } from '../src/nn/module.js';
import { readBandwidth } from './bandwidth.js';

async function llamaTokensPerSecond(gguf: string, prompt: number[], n: number, threads: number): Promise<number> {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, skipDownload: true, progressLogs: false, logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: gguf, gpuLayers: 0 });
  const ctx = await model.createContext({ contextSize: prompt.length + n + 8, batchSize: 64, threads });
  try {
    const seq = ctx.getSequence();
    let t0 = 0, count = 0;
    // Timed from the first generated token on: decode only, as gptune's row is.
    for await (const _t of seq.evaluate(prompt as never[], { temperature: 0 })) {
      if (count === 0) t0 = performance.now();
      if (++count >= n) break;
    }
    return (count - 1) / ((performance.now() - t0) / 1000);
  } finally {
    await ctx.dispose();
    await model.dispose();
  }
}

function gptuneTokensPerSecond(dir: string, prompt: number[], n: number, baseQuant?: BaseQuant): { tps: number; bytes: number } {
  const { model } = loadModel(dir, { baseQuant, keepStoredDtype: true });
  let t0 = 0;
  generate(model, prompt, { maxNewTokens: n, temperature: 0, onToken: (_id, _d) => { if (t0 === 0) t0 = performance.now(); } });
  return { tps: (n - 1) / ((performance.now() - t0) / 1000), bytes: weightBytes(model) };
}

/** Bytes of all parameters as held (a tied head counted once): about what one decoded token reads. */
function weightBytes(model: Module): number {
  const per: Record<string, number> = { F32: 4, BF16: 2, F16: 2, Q8_0: 34 / 32, Q4_0: 18 / 32 };
  return model.parameters().reduce((s, p) => s + p.size * per[p.storedDtype], 0);
}

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const n = ctx.quick ? 16 : 64;
  const threads = backend().threads;
  const work = mkdtempSync(join(tmpdir(), 'gptune-decode-bench-'));
  try {
    const shapes: Array<{ name: string; dir: string }> = [{ name: 'base model', dir: packagePath('assets', 'base-model') }];
    if (!ctx.quick) {
      // GPT-2 124M (random weights: speed does not depend on them); the base model's tokenizer for the GGUF vocabulary is not needed at this vocab, so GPT-2's ranks are copied in.
      const dir = join(work, 'gpt2-124m');
      const config = { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, bos_token_id: 50256, eos_token_id: 50256 };
      const m = createModel(config);
      m.initWeights(0);
      saveModel(dir, m, config);
      shapes.push({ name: 'GPT-2 124M', dir });
    }
    // gptune's weight format and the GGUF type llama.cpp runs for it; half-precision rows load a copy
    // of the checkpoint saved in that dtype, kept so in memory.
    const formats: Array<{ label: string; quant?: BaseQuant; stored?: 'BF16' | 'F16'; dtype: GgufDType }> = [
      { label: 'f32', dtype: 'f32' }, { label: 'bf16 / BF16', stored: 'BF16', dtype: 'bf16' }, { label: 'f16 / F16', stored: 'F16', dtype: 'f16' },
      { label: 'int8 / Q8_0', quant: 'int8', dtype: 'q8_0' }, { label: 'q4 / Q4_0', quant: 'q4', dtype: 'q4_0' },
    ];
    const bw = readBandwidth();
    for (const s of shapes) {
      if (s.name !== 'base model') cpSync(packagePath('assets', 'base-model', 'tokenizer.json'), join(s.dir, 'tokenizer.json'));
      for (const f of formats) {
        let dir = s.dir;
        if (f.stored) {
          dir = join(work, `${s.name.replace(/\W+/g, '-')}-${f.stored}`);
          const loaded = loadModel(s.dir);
          saveModel(dir, loaded.model, loaded.config, { dtype: f.stored, generationConfig: loaded.generationConfig });
          cpSync(join(s.dir, 'tokenizer.json'), join(dir, 'tokenizer.json'));
        }
        const gguf = join(work, `${s.name.replace(/\W+/g, '-')}.${f.dtype}.gguf`);
        try {
          exportGguf({ model: dir, dtype: f.dtype, out: gguf });
        } catch (e) {
          ctx.notice(`decode ${s.name} ${f.dtype}: GGUF export failed (${(e as Error).message}); peer skipped`);
        }
        const prompt = Array.from({ length: 16 }, (_, i) => (i * 37 + 11) % 200);
        const ours = gptuneTokensPerSecond(dir, prompt, n, f.quant);
        let peer: number | null = null;
        try {
          peer = await llamaTokensPerSecond(gguf, prompt, n, threads);
        } catch (e) {
          ctx.notice(`decode ${s.name} ${f.dtype}: llama.cpp did not run (${(e as Error).message})`);
        }
        const bound = bw * 1e9 / ours.bytes;
        rows.push({ bench: 'decode', case: `${s.name}, ${n} tokens, ${f.label}`, unit: 'tokens/s', gptune: ours.tps, peer, peerName: 'llama.cpp',
          peerConfig: `llama.cpp via node-llama-cpp 3.21.1 prebuilt CPU binary, GGUF exported by gptune, ${threads} threads`,
          // --base-quant leaves embeddings and the (tied) head in f32 as QLoRA does; llama.cpp's file quantizes them too.
          note: `${(ours.bytes / 1e6).toFixed(0)} MB of weights a token; bound ${bound.toFixed(0)} tok/s at ${bw.toFixed(1)} GB/s, gptune ${(100 * ours.tps / bound).toFixed(0)}% of it` +
            (f.quant ? '; gptune: embeddings and head f32' : '') });
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return rows;
}
