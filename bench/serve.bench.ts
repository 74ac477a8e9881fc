// Continuous batching: aggregate generated tokens/s at 1, 4 and 16 concurrent streams through the
// server's scheduler, for the shipped base model and a GPT-2 124M shape (random weights). The
// "peer" column is the same model at 1 stream, so the ratio is the batching speed-up.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext, BenchRow } from './harness.js';
import { GPT2LMHeadModel, gpt2ConfigFrom } from '../src/models/gpt2.js';
import type { CausalLM } from '../src/models/causal_lm.js';
import { AdapterSet } from '../src/lora/multi_lora.js';
import { Scheduler } from '../src/serve/scheduler.js';
import { loadServedModel } from '../src/serve/served_model.js';
import { Rng } from '../src/util/rng.js';

const BASE = join(fileURLToPath(import.meta.url), '..', '..', '..', 'assets', 'base-model');

/** Tokens/s of `streams` requests started together (prompt 16 tokens, `maxNew` tokens each). */
async function throughput(model: CausalLM, decode: ((ids: readonly number[]) => string) | null, streams: number, maxNew: number): Promise<number> {
  const sched = new Scheduler(model, AdapterSet.load(model, []), decode, { maxBatch: 16, maxQueue: 64 });
  const rng = new Rng(streams);
  const prompt = () => Array.from({ length: 16 }, () => Math.floor(rng.uniform() * model.vocabSize));
  const run = () => Promise.all(Array.from({ length: streams }, () => sched.submit({
    prompt: prompt(), adapter: -1, maxNewTokens: maxNew, sampling: { temperature: 0 }, eosIds: [], stopStrings: [], topLogprobs: null,
  }).done));
  await run(); // warm-up: pools and caches
  const t0 = performance.now();
  const results = await run();
  const secs = (performance.now() - t0) / 1000;
  return results.reduce((n, r) => n + r.completionTokens, 0) / secs;
}

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const base = loadServedModel({ modelDir: BASE });
  const tok = base.tokenizer!;
  const gpt2 = new GPT2LMHeadModel(gpt2ConfigFrom({ n_layer: 12, n_embd: 768, n_head: 12, vocab_size: 50257, n_positions: 1024 }));
  gpt2.initWeights(0);
  const models: Array<[string, CausalLM, ((ids: readonly number[]) => string) | null]> = [
    ['base-model', base.model, (ids) => tok.decode(ids)],
    ['GPT-2 124M shape', gpt2, null],
  ];
  for (const [name, model, decode] of models) {
    const maxNew = ctx.quick ? 8 : name === 'base-model' ? 64 : 32;
    const one = await throughput(model, decode, 1, maxNew);
    for (const streams of [1, 4, 16]) {
      const tps = streams === 1 ? one : await throughput(model, decode, streams, maxNew);
      rows.push({ bench: 'serve', case: `${name}, ${streams} stream${streams > 1 ? 's' : ''}, ${maxNew} new tokens`, unit: 'tokens/s', gptune: tps, peer: one, peerName: '1 stream' });
    }
  }
  return rows;
}
