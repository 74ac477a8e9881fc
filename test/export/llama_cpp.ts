// llama.cpp itself (through node-llama-cpp 3.21.1's prebuilt CPU binaries) as the GGUF consumer the
// export tests check against: tokenization, greedy decoding and next-token log-probabilities.
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel } from 'node-llama-cpp';
import type { CausalLM } from '../../src/models/causal_lm.js';
import { generate } from '../../src/generate/generate.js';
import { noGrad } from '../../src/tensor/tape.js';

let llama: Promise<Llama> | null = null;
// An f32 KV cache (llama.cpp's default is f16), so f32 exports are compared without that rounding.
const F32_KV = { experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32', flashAttention: false } as const;

/** One CPU-only llama.cpp for the whole file: never builds or downloads (prebuilt binaries from npm only). */
export function cpuLlama(): Promise<Llama> {
  llama ??= getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, skipDownload: true, progressLogs: false, logLevel: LlamaLogLevel.error });
  return llama;
}

export async function loadGguf(path: string): Promise<LlamaModel> {
  return (await cpuLlama()).loadModel({ modelPath: path, gpuLayers: 0 });
}

/** Greedy ids from llama.cpp after the prompt, n of them (EOS included if it comes). */
export async function llamaGreedy(model: LlamaModel, prompt: number[], n: number, lora?: string): Promise<number[]> {
  const ctx = await model.createContext({ contextSize: prompt.length + n + 8, batchSize: 64, threads: 1, ...F32_KV, ...(lora ? { lora: { adapters: [{ filePath: lora }] } } : {}) });
  try {
    const seq = ctx.getSequence();
    const out: number[] = [];
    for await (const t of seq.evaluate(prompt as never[], { temperature: 0 })) {
      out.push(t as unknown as number);
      if (out.length >= n) break;
    }
    return out;
  } finally {
    await ctx.dispose();
  }
}

/** llama.cpp's next-token log-probabilities after every prefix of ids ([ids.length][vocab]). */
export async function llamaLogProbs(model: LlamaModel, ids: number[], vocab: number): Promise<Float64Array[]> {
  const ctx = await model.createContext({ contextSize: ids.length + 8, batchSize: 64, threads: 1, ...F32_KV });
  try {
    const seq = ctx.getSequence();
    const res = await seq.controlledEvaluate(ids.map((t) => [t, { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }] as never));
    return res.map((r, i) => {
      const probs = (r as { next?: { probabilities?: Map<number, number> } } | undefined)?.next?.probabilities;
      if (!probs) throw new Error(`llama.cpp returned no probabilities at position ${i}`);
      const lp = new Float64Array(vocab).fill(-Infinity);
      for (const [t, p] of probs) lp[t] = Math.log(p);
      return lp;
    });
  } finally {
    await ctx.dispose();
  }
}

/** gptune's greedy ids (no EOS stop), as `gptune generate` decodes them. */
export function gptuneGreedy(model: CausalLM, prompt: number[], n: number): number[] {
  return generate(model, prompt, { maxNewTokens: n, temperature: 0 }).ids;
}

/** gptune's log-softmax over the vocab after every prefix of ids. */
export function gptuneLogProbs(model: CausalLM, ids: number[]): Float64Array[] {
  return noGrad(() => {
    model.eval();
    const logits = model.forward(Int32Array.from(ids), 1, ids.length).data;
    const V = model.vocabSize;
    const rows: Float64Array[] = [];
    for (let t = 0; t < ids.length; t++) {
      const row = logits.subarray(t * V, (t + 1) * V);
      let max = -Infinity;
      for (const x of row) max = Math.max(max, x);
      let sum = 0;
      for (const x of row) sum += Math.exp(x - max);
      const lse = max + Math.log(sum);
      rows.push(Float64Array.from(row, (x) => x - lse));
    }
    return rows;
  });
}

/** Largest |a - b| over tokens whose gptune probability is above minProb (tails carry no signal). */
export function maxLogProbDiff(ours: Float64Array[], theirs: Float64Array[], minProb = 1e-4): number {
  let worst = 0;
  const floor = Math.log(minProb);
  ours.forEach((row, t) => row.forEach((x, v) => { if (x > floor) worst = Math.max(worst, Math.abs(x - theirs[t][v])); }));
  return worst;
}
