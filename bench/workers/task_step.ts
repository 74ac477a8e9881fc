// The encoder half of model_worker: a BERT-family ForSequenceClassification built from the bench's
// config.json object (random weights), timed per training step with the same batch as the peer's.
import { taskArchitectureFor } from '../../src/models/registry.js';
import { taskLoss } from '../../src/train/task_losses.js';
import { AdamW } from '../../src/train/optim/adamw.js';
import type { TaskInput } from '../../src/models/task_model.js';

export interface TaskStepConfig {
  mode: string;
  hf_config?: Record<string, unknown>;
  batch: number; seq_len: number; vocab_size: number;
  pad_to?: number; steps?: number; warmup?: number;
}

/**
 * The batch both sides train on: ids (i * 2654435761) mod vocab, as the decoder benches use; with
 * pad_to, rows 1, 3, 5 ... keep pad_to real tokens and the rest is padding (mask 0, pad id).
 */
export function encoderBatch(cfg: TaskStepConfig, pad: number): TaskInput {
  const B = cfg.batch, T = cfg.seq_len;
  const ids = new Int32Array(B * T), mask = new Int32Array(B * T).fill(1);
  for (let i = 0; i < ids.length; i++) ids[i] = (i * 2654435761) % cfg.vocab_size;
  for (let b = 1; cfg.pad_to !== undefined && b < B; b += 2) {
    for (let t = cfg.pad_to; t < T; t++) { ids[b * T + t] = pad; mask[b * T + t] = 0; }
  }
  return { ids, batch: B, seqLen: T, attentionMask: cfg.pad_to !== undefined ? mask : null };
}

/** mode 'train': forward + backward + AdamW; 'fwdbwd': forward + backward. -> { tokens_per_sec } */
export function timeTaskSteps(cfg: TaskStepConfig): Record<string, number> {
  const hf = cfg.hf_config!;
  const model = taskArchitectureFor(hf, 'bench config').create(hf, 'bench config', 'seq_cls');
  model.initWeights(0);
  model.train();
  const input = encoderBatch(cfg, Number(hf.pad_token_id ?? 0));
  const labels = Int32Array.from({ length: cfg.batch }, (_, b) => b % model.numLabels);
  const opt = cfg.mode === 'fwdbwd' ? null : new AdamW(model.parameters().filter((p) => p.requiresGrad), { lr: 1e-4 });
  const step = () => {
    taskLoss(model, model.forward(input), labels).backward();
    if (opt) { opt.stepUpdate(); opt.zeroGrad(); } else model.zeroGrad();
  };
  for (let i = 0; i < (cfg.warmup ?? 2); i++) step();
  const n = cfg.steps ?? 5;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) step();
  return { tokens_per_sec: (cfg.batch * cfg.seq_len * n) / ((performance.now() - t0) / 1000) };
}
