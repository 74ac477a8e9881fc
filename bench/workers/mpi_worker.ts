// One data-parallel training benchmark: GPT-2 (random weights) training steps on this process's rows
// of each global batch, gradients summed through the trainer's buckets (grad_buckets.ts) when started
// by mpirun, else the whole batch in one process. Config JSON in argv[2]; rank 0 prints one JSON line.
import { GPT2LMHeadModel, gpt2ConfigFrom } from '../../src/models/gpt2.js';
import { causalLMModelLoss } from '../../src/train/losses.js';
import { AdamW } from '../../src/train/optim/adamw.js';
import { clipGradNorm } from '../../src/train/optim/clip.js';
import { distributed } from '../../src/train/distributed.js';
import { GradBuckets } from '../../src/train/grad_buckets.js';
import { withGradReadyHook } from '../../src/tensor/tape.js';

interface Config { n_layer: number; n_embd: number; n_head: number; vocab_size: number; seq_len: number; batch: number; steps: number; warmup: number }

function main() {
  const cfg = JSON.parse(process.argv[2]) as Config;
  const dist = distributed();
  const rank = dist?.rank ?? 0, size = dist?.size ?? 1;
  const model = new GPT2LMHeadModel(gpt2ConfigFrom({
    vocab_size: cfg.vocab_size, n_positions: Math.max(1024, cfg.seq_len), n_embd: cfg.n_embd, n_layer: cfg.n_layer, n_head: cfg.n_head,
    resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0,
  }));
  model.initWeights(0);
  model.train();
  const params = model.parameters().filter((p) => p.requiresGrad);
  const opt = new AdamW(params, { lr: 1e-4 });
  const buckets = dist ? new GradBuckets(dist, params) : null;
  // This rank's rows of the global batch [batch, seq_len], as shardBatch splits it.
  const T = cfg.seq_len, lo = Math.floor((rank * cfg.batch) / size), hi = Math.floor(((rank + 1) * cfg.batch) / size), B = hi - lo;
  const ids = Int32Array.from({ length: B * T }, (_, i) => ((lo * T + i) * 2654435761) % cfg.vocab_size);
  const step = () => {
    const loss = causalLMModelLoss(model, ids, ids, B, T, {}, cfg.batch * (T - 1));
    if (buckets) { withGradReadyHook(buckets, () => loss.backward()); buckets.finish([loss.item()]); } else loss.backward();
    clipGradNorm(params, 1);
    opt.stepUpdate();
    opt.zeroGrad();
  };
  for (let i = 0; i < cfg.warmup; i++) step();
  const wait0 = buckets?.stats.waitMs ?? 0;
  dist?.barrier();
  const t0 = performance.now();
  for (let i = 0; i < cfg.steps; i++) step();
  dist?.barrier();
  const stepMs = (performance.now() - t0) / cfg.steps;
  const out: Record<string, number> = { tokens_per_sec: (cfg.batch * T) / (stepMs / 1000), step_ms: stepMs, ranks: size };
  if (dist && buckets) {
    out.bytes_per_step = buckets.stats.bytesPerStep;
    out.buckets = buckets.buckets.length;
    out.exposed_wait_ms = (buckets.stats.waitMs - wait0) / cfg.steps;
    // The same bytes in one blocking MPI_Allreduce, alone: the communication time with no compute to hide behind.
    const flat = new Float32Array(buckets.stats.bytesPerStep / 4);
    dist.allreduceSum(flat);
    dist.barrier();
    const reps = 3, a0 = performance.now();
    for (let i = 0; i < reps; i++) dist.allreduceSum(flat);
    out.allreduce_ms = (performance.now() - a0) / reps;
    // Ring allreduce moves 2(N-1)/N of the bytes through each rank's link: the bus bandwidth.
    out.allreduce_bus_gbps = ((2 * (size - 1)) / size) * out.bytes_per_step * 8 / (out.allreduce_ms / 1000) / 1e9;
  }
  if (rank === 0) console.log(JSON.stringify(out));
  if (dist) { dist.barrier(); dist.finalize(); }
}

main();
