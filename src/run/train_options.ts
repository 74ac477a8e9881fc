// Every option of `gptune train` (and so of `start`, its preset, and of --config files), declared
// once: type, default or the rule that decides it, help and checks.
import { opt, type OptionValues } from './option.js';
import { SCHEDULES } from '../train/schedule.js';
import { DATA_FORMATS } from '../data/detect.js';
import { TRUNCATIONS } from '../data/task.js';
import { DEFAULT_BUCKET_MB } from '../train/grad_buckets.js';
import { COMPUTE_DTYPES } from '../tensor/compute_dtype.js';
import { baseQuantOption } from './model.js';
import { ALL_LINEAR } from '../lora/config.js';

export const SAVE_DTYPES = ['F32', 'F16', 'BF16'] as const;

/** --seq-len when not given: the model's context up to MAX_DEFAULT_SEQ_LEN; INIT_SEQ_LEN from scratch. */
export const MAX_DEFAULT_SEQ_LEN = 1024;
export const INIT_SEQ_LEN = 256;

/** Peak learning rate by method when --lr is not given (nanoGPT's from scratch; PEFT's and HF's examples). */
export const DEFAULT_LR = { init: 6e-4, lora: 2e-4, full: 5e-5 } as const;

export const TRAIN_OPTIONS = {
  // What to start from.
  model: opt.string({ arg: 'dir', help: 'a Hugging Face model directory to start from' }),
  init: opt.choice(['gpt2', 'llama', 'bert', 'roberta'], { help: 'start from scratch with this architecture (bert, roberta: a masked LM)' }),
  task: opt.choice(['mlm', 'seq-cls', 'token-cls'], { defaultRule: 'mlm for an encoder (BERT family) on raw text; the head the --model\'s config names, else what labelled --data rows need; else causal LM', help: 'the objective: mlm = masked-LM training of an encoder; seq-cls / token-cls = a classification head (sequence or token; a checkpoint without that head gets a fresh one, as from_pretrained)' }),
  mlmProbability: opt.number({ min: 0, max: 1, default: 0.15, help: 'masked LM: fraction of tokens chosen (of those 80% [MASK], 10% random, 10% unchanged)' }),
  wholeWordMask: opt.bool({ default: false, help: 'masked LM: choose whole words (each word with --mlm-probability) and mask all its tokens' }),
  tokenizer: opt.string({ arg: 'name|dir', help: 'tokenizer for --init (built in: gpt2), or to override the model\'s' }),
  nLayer: opt.int({ min: 1, default: 4, help: 'layers (--init)' }),
  nEmbd: opt.int({ min: 1, default: 256, help: 'hidden size (--init)' }),
  nHead: opt.int({ min: 1, default: 4, help: 'attention heads (--init)' }),
  nKvHead: opt.int({ min: 1, defaultRule: '--n-head', help: 'key/value heads (--init llama)' }),
  vocabSize: opt.int({ min: 1, defaultRule: 'the tokenizer\'s', help: 'vocabulary size (--init)' }),
  // Data.
  data: opt.string({ arg: 'path', required: true, help: 'training data: .txt file or folder, JSONL {"text"}, {"input_ids"}, or task rows' }),
  valData: opt.string({ arg: 'path', help: 'validation data (same formats)' }),
  valFraction: opt.number({ min: 0, max: 0.9, default: 0, help: 'hold out this last fraction of the data for validation' }),
  format: opt.choice(DATA_FORMATS, { default: 'auto', help: 'data format' }),
  seqLen: opt.int({ min: 2, defaultRule: `the model's context, at most ${MAX_DEFAULT_SEQ_LEN}; ${INIT_SEQ_LEN} with --init`, help: 'tokens per sequence' }),
  maxLength: opt.int({ min: 2, defaultRule: '--seq-len', help: 'task data: longest example in tokens' }),
  truncation: opt.choice(TRUNCATIONS, { default: 'left', help: 'task data longer than --max-length: left (cut the prompt, keep the answer whole; drop the row if its prompt would vanish), right (keep the prompt, cut the answer\'s end, no EOS) or drop' }),
  packing: opt.bool({ default: false, help: 'task data: pack several examples per row (block-diagonal attention)' }),
  cacheDir: opt.string({ arg: 'dir', defaultRule: '$GPTUNE_CACHE_DIR, else ~/.cache/gptune', help: 'where token caches go (the data is only read)' }),
  skipBadRows: opt.bool({ default: false, help: 'skip malformed JSONL rows (and count them) instead of failing' }),
  classWeights: opt.string({ arg: 'balanced|w0,w1,...', help: 'classification: weigh each class in the cross-entropy (balanced: n / (classes x count), as scikit-learn), for imbalanced labels' }),
  // Where the result goes.
  out: opt.string({ arg: 'dir', required: true, help: 'output directory (a Hugging Face model dir or a PEFT adapter, plus checkpoints)' }),
  resume: opt.bool({ default: false, help: 'continue the run in --out from its last checkpoint' }),
  overwrite: opt.bool({ default: false, help: 'replace a run already in --out' }),
  saveEvery: opt.int({ min: 0, default: 500, help: 'checkpoint every n steps (0: only at the end and on Ctrl-C)' }),
  keepCheckpoints: opt.int({ min: 1, default: 2, help: 'checkpoints kept (older ones are removed)' }),
  saveDtype: opt.choice(SAVE_DTYPES, { default: 'F32', help: 'dtype of the final model (checkpoints stay F32)' }),
  // Method.
  baseQuant: baseQuantOption(),
  method: opt.choice(['full', 'lora'], { defaultRule: 'lora for task data on a pretrained --model, else full', help: 'full fine-tuning or LoRA' }),
  // gptune's LoRA defaults differ from PEFT's LoraConfig (alpha 8, dropout 0): alpha = 2r and dropout
  // 0.05 are the values of PEFT's and TRL's own fine-tuning examples. Adapter files keep PEFT's meaning.
  loraR: opt.int({ min: 1, default: 8, help: 'LoRA rank' }),
  loraAlpha: opt.number({ min: 0, defaultRule: '2 x --lora-r', help: 'LoRA alpha (scaling = alpha / r)' }),
  loraDropout: opt.number({ min: 0, max: 0.99, default: 0.05, help: 'LoRA dropout' }),
  loraTargets: opt.string({ arg: 'list', defaultRule: 'PEFT\'s modules for the model type', help: 'modules to adapt: comma-separated names (suffix match), a regex, or all-linear (a small model such as assets/base-model learns much more with all-linear)' }),
  useRslora: opt.bool({ default: false, help: 'scale by alpha/sqrt(r) (rank-stabilised LoRA)' }),
  // Optimisation: Hugging Face Trainer's defaults (AdamW, linear schedule, clip 1.0, seed 42).
  epochs: opt.number({ min: 0, default: 3, help: 'passes over the data (Trainer\'s default; a small task set such as data/support needs 10-20)' }),
  maxSteps: opt.int({ min: 1, defaultRule: '--epochs passes', help: 'optimizer steps (overrides --epochs)' }),
  batchSize: opt.int({ min: 1, default: 8, help: 'sequences per micro-batch (per rank under MPI)' }),
  gradAccum: opt.int({ min: 1, default: 1, help: 'micro-batches per optimizer step' }),
  lr: opt.number({ min: 0, defaultRule: `${DEFAULT_LR.init} from scratch, ${DEFAULT_LR.lora} LoRA, ${DEFAULT_LR.full} full fine-tuning`, help: 'peak learning rate (the LoRA default is PEFT\'s examples\', for 124M+ models: a small model such as assets/base-model wants ~5e-3)' }),
  weightDecay: opt.number({ min: 0, default: 0, help: 'AdamW weight decay, not on biases and norms' }),
  adamBeta1: opt.number({ min: 0, max: 0.9999, default: 0.9, help: 'AdamW beta1' }),
  adamBeta2: opt.number({ min: 0, max: 0.99999, default: 0.999, help: 'AdamW beta2' }),
  adamEpsilon: opt.number({ min: 0, default: 1e-8, help: 'AdamW epsilon' }),
  warmupSteps: opt.int({ min: 0, defaultRule: '--warmup-ratio x the steps', help: 'linear warmup steps' }),
  warmupRatio: opt.number({ min: 0, max: 1, default: 0, help: 'warmup as a fraction of the steps (when --warmup-steps is not given)' }),
  schedule: opt.choice(SCHEDULES, { default: 'linear', help: 'learning-rate schedule after warmup' }),
  maxGradNorm: opt.number({ min: 0, default: 1, help: 'clip the global gradient norm; 0 disables' }),
  computeDtype: opt.choice(COMPUTE_DTYPES, { default: 'f32', help: 'precision of the products with weights: f32 (exact) or bf16 (mixed precision as torch.autocast: bf16 operands, f32 sums, f32 weights and optimizer state; needs AVX-512 BF16, else stays f32)' }),
  gradientCheckpointing: opt.bool({ default: false, help: 'recompute each block during backward instead of keeping its activations (less memory, about a third more compute)' }),
  seed: opt.int({ min: 0, default: 42, help: 'seed for initialisation, shuffling and dropout' }),
  distributed: opt.bool({ default: false, help: 'data-parallel over MPI (implied when started by mpirun): --batch-size is per rank' }),
  bucketMb: opt.number({ min: 0, default: DEFAULT_BUCKET_MB, help: 'under MPI: gradients are summed in buckets of about this many MB (PyTorch DDP\'s bucket_cap_mb), each started as soon as backward has finished it; 0: one per parameter' }),
  // Reporting.
  evalEvery: opt.int({ min: 0, default: 0, help: 'evaluate every n steps (0: at the end)' }),
  logEvery: opt.int({ min: 1, default: 1, help: 'log every n steps' }),
  progress: opt.bool({ default: true, help: 'progress bar or step lines (--no-progress: none)' }),
};

export type TrainRunOptions = OptionValues<typeof TRAIN_OPTIONS>;

/** --lora-targets: 'all-linear' or a regex as PEFT takes a string, else a comma-separated list of names. */
export function loraTargets(spec: string | undefined): string | string[] | null {
  if (spec === undefined) return null;
  if (spec === ALL_LINEAR || /[\\^$*+?()[\]|]/.test(spec)) return spec;
  return spec.split(',').map((s) => s.trim()).filter(Boolean);
}
