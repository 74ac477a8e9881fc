// Continuous batching: requests wait in a queue; each step first prefills newly admitted sequences
// (one forward each, with their own KV cache), then runs one decode step over every running
// sequence as a single batch (rows at different positions, each with its own cache and adapter).
// Finished or cancelled sequences leave the batch and drop their cache at once.
import type { CausalLM } from '../models/causal_lm.js';
import { KVCache } from '../models/kv_cache.js';
import type { AdapterSet } from '../lora/multi_lora.js';
import { noGrad } from '../tensor/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { linear } from '../tensor/ops/linear.js';
import { makeSampler, type Sampler, type SamplingOptions } from '../generate/sampler.js';
import { StopStream, type FinishReason } from '../generate/stop_strings.js';


/** Sequences decoded together at most, and requests waiting at most before new ones are refused. */
export const SCHEDULER_DEFAULTS = { maxBatch: 16, maxQueue: 64 } as const;
export interface TokenLogprob {
  id: number;
  logprob: number;
  /** The most likely alternatives (as many as asked), most likely first. */
  top: Array<{ id: number; logprob: number }>;
}

/** One generated token: the text it makes visible ('' while held back) and, if asked, its logprob. */
export interface TokenEvent {
  id: number;
  text: string;
  logprob?: TokenLogprob;
}

export interface SequenceRequest {
  prompt: readonly number[];
  /** Adapter index in the AdapterSet, -1 for the base model. */
  adapter: number;
  maxNewTokens: number;
  /** The reason given when maxNewTokens is reached ('context' when the context set the limit). */
  limitReason?: FinishReason;
  sampling: SamplingOptions;
  eosIds: readonly number[];
  stopStrings: readonly string[];
  /** Report each token's logprob and this many alternatives (null: no logprobs). */
  topLogprobs: number | null;
  onToken?: (e: TokenEvent) => void;
}

export interface SequenceResult {
  /** Generated ids, without a final EOS id. */
  ids: number[];
  text: string;
  finishReason: FinishReason | 'cancelled';
  promptTokens: number;
  /** Tokens the model produced (an EOS id counts, as in vLLM and OpenAI's usage). */
  completionTokens: number;
}

export interface SequenceHandle {
  done: Promise<SequenceResult>;
  /** Stops the sequence at the next step and frees its cache (a client went away). */
  cancel(): void;
}

export class QueueFullError extends Error {}

interface Seq {
  req: SequenceRequest;
  sample: Sampler;
  history: number[];
  ids: number[];
  stream: StopStream;
  cache: KVCache | null;
  next: number; // the token to feed at the next decode step
  produced: number;
  cancelled: boolean;
  resolve(r: SequenceResult): void;
  reject(e: unknown): void;
}

export interface SchedulerOptions {
  /** Sequences decoded together at most. */
  maxBatch?: number;
  /** Requests waiting for a slot at most; more are refused (QueueFullError). */
  maxQueue?: number;
}

export class Scheduler {
  readonly maxBatch: number;
  readonly maxQueue: number;
  private readonly queue: Seq[] = [];
  private readonly running: Seq[] = [];
  private looping = false;
  private idle: Array<() => void> = [];
  /** Tokens produced since start (for the metrics). */
  tokensGenerated = 0;
  promptTokens = 0;
  /** Called after every token produced (metrics' tokens/s window). */
  onTokens?: (n: number) => void;

  constructor(readonly model: CausalLM, readonly adapters: AdapterSet, readonly decode: ((ids: readonly number[]) => string) | null, opts: SchedulerOptions = {}) {
    this.maxBatch = opts.maxBatch ?? SCHEDULER_DEFAULTS.maxBatch;
    this.maxQueue = opts.maxQueue ?? SCHEDULER_DEFAULTS.maxQueue;
    model.eval();
  }

  get queued(): number { return this.queue.length; }
  get active(): number { return this.running.length; }

  submit(req: SequenceRequest): SequenceHandle {
    if (this.queue.length >= this.maxQueue) throw new QueueFullError(`the queue is full (${this.maxQueue} requests waiting); retry later`);
    let seq!: Seq;
    const done = new Promise<SequenceResult>((resolve, reject) => {
      seq = {
        req, sample: makeSampler(req.sampling), history: [...req.prompt], ids: [], stream: new StopStream(req.stopStrings),
        cache: null, next: -1, produced: 0, cancelled: false, resolve, reject,
      };
    });
    this.queue.push(seq);
    this.kick();
    return { done, cancel: () => { seq.cancelled = true; this.kick(); } };
  }

  /** Resolves when nothing is queued or running. */
  whenIdle(): Promise<void> {
    if (!this.looping && this.queue.length === 0 && this.running.length === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  /** Cancels everything queued and running (shutdown). */
  cancelAll(): void {
    for (const s of [...this.queue, ...this.running]) s.cancelled = true;
    this.kick();
  }

  private kick(): void {
    if (this.looping) return;
    this.looping = true;
    setImmediate(() => this.loop());
  }

  private loop(): void {
    try {
      this.step();
    } catch (e) {
      // A failed forward ends the sequences it touched; the server keeps serving.
      for (const s of this.running.splice(0)) { s.cache = null; s.reject(e); }
    }
    if (this.queue.length || this.running.length) {
      setImmediate(() => this.loop()); // lets the event loop send chunks and read requests between steps
      return;
    }
    this.looping = false;
    for (const r of this.idle.splice(0)) r();
  }

  private step(): void {
    this.dropCancelled();
    const admitted: Seq[] = [];
    while (this.queue.length && this.running.length + admitted.length < this.maxBatch) admitted.push(this.queue.shift()!);
    // Prompts of one length prefill together (one batched forward); each row fills its own cache.
    const byLength = new Map<number, Seq[]>();
    for (const s of admitted) byLength.set(s.req.prompt.length, [...(byLength.get(s.req.prompt.length) ?? []), s]);
    const joined: Seq[] = [];
    for (const group of byLength.values()) {
      let logits: Float32Array;
      try {
        logits = this.prefill(group);
      } catch (e) {
        for (const s of group) { s.cache = null; s.reject(e); } // a failed prefill ends only its own requests
        continue;
      }
      const V = this.model.vocabSize;
      group.forEach((s, b) => { if (this.accept(s, logits.subarray(b * V, (b + 1) * V))) joined.push(s); });
    }
    try {
      if (this.running.length) this.decodeStep();
    } finally {
      this.running.push(...joined); // prefilled this step: they decode from the next one
    }
  }

  private dropCancelled(): void {
    for (const list of [this.queue, this.running]) {
      for (let i = list.length - 1; i >= 0; i--) {
        if (list[i].cancelled) this.finish(list[i], 'cancelled', list, i);
      }
    }
  }

  /** Prefills prompts of one length as one batch; the last position's logits of each row (B, V). */
  private prefill(group: Seq[]): Float32Array {
    const { kvHeads, headDim, windows } = this.model.kvShape;
    const B = group.length, n = group[0].req.prompt.length;
    for (const s of group) s.cache = new KVCache(this.model.numLayers, 1, n + s.req.maxNewTokens, kvHeads, headDim, windows);
    this.promptTokens += B * n;
    const ids = new Int32Array(B * n);
    group.forEach((s, b) => ids.set(s.req.prompt, b * n));
    return noGrad(() => this.adapters.run(Int32Array.from(group, (s) => s.req.adapter), () => {
      const hidden = this.model.hiddenStates(ids, B, n, B === 1 ? { cache: group[0].cache! } : { rowCaches: group.map((s) => s.cache!) });
      const C = hidden.shape[hidden.rank - 1];
      const last = Tensor.empty([B, C]); // (B, C): each row's last position
      for (let b = 0; b < B; b++) last.data.set(hidden.data.subarray(((b + 1) * n - 1) * C, (b + 1) * n * C), b * C);
      return linear(last, this.model.outputWeight, null, 'out_in').data.slice();
    }));
  }

  private decodeStep(): void {
    const rows = this.running;
    const B = rows.length, V = this.model.vocabSize;
    const logits = noGrad(() => this.adapters.run(Int32Array.from(rows, (s) => s.req.adapter), () => {
      const hidden = this.model.hiddenStates(Int32Array.from(rows, (s) => s.next), B, 1, { rowCaches: rows.map((s) => s.cache!) });
      return linear(hidden, this.model.outputWeight, null, 'out_in').data.slice(); // (B, V)
    }));
    for (let b = B - 1; b >= 0; b--) {
      const s = rows[b];
      if (!this.accept(s, logits.subarray(b * V, (b + 1) * V))) rows.splice(b, 1);
    }
  }

  /** Samples the next token from logits and emits it; false when the sequence has finished. */
  private accept(s: Seq, logits: Float32Array): boolean {
    if (s.cancelled) { this.finish(s, 'cancelled'); return false; }
    const id = s.sample(logits, s.history);
    s.produced++;
    this.tokensGenerated++;
    this.onTokens?.(1);
    const lp = s.req.topLogprobs === null ? undefined : logprobOf(logits, id, s.req.topLogprobs);
    if (s.req.eosIds.includes(id)) {
      if (lp) s.req.onToken?.({ id, text: '', logprob: lp });
      this.finish(s, 'stop');
      return false;
    }
    s.ids.push(id);
    s.history.push(id);
    s.next = id;
    const text = this.decode ? s.stream.push(this.decode(s.ids)) : '';
    s.req.onToken?.({ id, text, ...(lp ? { logprob: lp } : {}) });
    if (s.stream.stopped) { this.finish(s, 'stop'); return false; }
    if (s.ids.length >= s.req.maxNewTokens) { this.finish(s, s.req.limitReason ?? 'length'); return false; }
    return true;
  }

  private finish(s: Seq, reason: SequenceResult['finishReason'], list?: Seq[], index?: number): void {
    if (list && index !== undefined) list.splice(index, 1);
    s.cache = null; // the KV cache is freed with the sequence
    if (reason !== 'cancelled' && !s.stream.stopped && this.decode) {
      const rest = s.stream.finish(this.decode(s.ids)); // ended by EOS or a limit: what was held back is real text
      if (rest) s.req.onToken?.({ id: -1, text: rest });
    }
    s.resolve({ ids: s.ids, text: s.stream.text, finishReason: reason, promptTokens: s.req.prompt.length, completionTokens: s.produced });
  }
}

/** log softmax of the raw logits at id, with the top-k alternatives. */
export function logprobOf(logits: Float32Array, id: number, top: number): TokenLogprob {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const lse = max + Math.log(sum);
  const best: Array<{ id: number; logprob: number }> = [];
  if (top > 0) {
    for (let i = 0; i < logits.length; i++) {
      if (best.length < top || logits[i] > best[best.length - 1].logprob) {
        best.push({ id: i, logprob: logits[i] });
        best.sort((a, b) => b.logprob - a.logprob);
        if (best.length > top) best.pop();
      }
    }
  }
  return { id, logprob: logits[id] - lse, top: best.map((t) => ({ id: t.id, logprob: t.logprob - lse })) };
}
