// The contract between data and trainer: what a batch holds, and the small tokenizer surface the
// data side needs (structural, so any tokenizer with these members fits).

/** Labels that the loss ignores (Hugging Face's convention, the same value src/train/losses.ts uses). */
export { IGNORE_INDEX } from '../backend/backend.js';
import { IGNORE_INDEX } from '../backend/backend.js';

/** The tokenizer members data loading uses; src/tokenizers' tokenizer satisfies it structurally. */
export interface TextTokenizer {
  /** addSpecialTokens defaults to the tokenizer's own choice; data code always passes false. */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  decode(ids: readonly number[]): string;
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly padId: number | null;
  /** A stable string naming the vocabulary and rules (e.g. a hash of tokenizer.json): keys the token cache. */
  readonly fingerprint?: string;
  /** The text of a token (for bos_token / eos_token in chat templates). */
  idToToken?(id: number): string | undefined;
}

/**
 * One micro-batch. inputIds and labels are [batch*seqLen] row-major; labels are aligned with the
 * inputs (the loss shifts them: logits at t predict labels[t+1]) and IGNORE_INDEX where no loss.
 */
export interface Batch {
  inputIds: Int32Array;          // (B*T,)
  labels: Int32Array;            // (B*T,)
  batch: number;
  seqLen: number;
  /** (B*T,) position ids restarting at 0 per packed example; null when not packed. */
  positions: Int32Array | null;
  /** (B*T,) packed example id per position (block-diagonal attention); null when not packed. */
  segments: Int32Array | null;
  /** Labels at positions 1..T-1 of each row that are not IGNORE_INDEX: what the shifted loss counts. */
  targetTokens: number;
}

/** One training sequence before batching: ids with their aligned labels (same length). */
export interface Example {
  inputIds: Int32Array;          // (n,)
  labels: Int32Array;            // (n,)
}

/** Anything the batch iterator can draw examples from. */
export interface SequenceDataset {
  /** Number of examples. */
  readonly size: number;
  /** Token count of example i, without reading it (packing plans rows from lengths alone). */
  length(i: number): number;
  get(i: number): Example;
}

/** Pad id as the spec orders it: the tokenizer's pad, else its EOS, else 0. */
export function defaultPadId(tok: Pick<TextTokenizer, 'padId' | 'eosId'>): number {
  return tok.padId ?? tok.eosId ?? 0;
}

/** What the shifted loss counts: labels at positions 1..T-1 of each row that are not ignored. */
export function countTargetTokens(labels: Int32Array, batch: number, seqLen: number): number {
  let n = 0;
  for (let b = 0; b < batch; b++) for (let t = 1; t < seqLen; t++) if (labels[b * seqLen + t] !== IGNORE_INDEX) n++;
  return n;
}
