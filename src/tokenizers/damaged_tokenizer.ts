// transformers 5 re-saves byte-level BPE tokenizers that declare tokenizer_class LlamaTokenizerFast
// (DeepSeek-V3/R1, DeepSeek-R1-Distill-Llama, several code models) as a SentencePiece-style pipeline
// (Metaspace, byte_fallback) over the unchanged byte-level vocab, so every space is lost
// (transformers issue 45488). Such a file is refused by name instead of training on space-less text.
import type { DecoderStep } from './decoders.js';
import type { PreTokenizerStep } from './pretokenize.js';
import { GptuneError } from '../util/errors.js';

const BYTE_LEVEL_SPACE = 'Ġ';   // GPT-2's byte alphabet spells the space byte as U+0120
const MIN_MARKED = 100;

export function checkNotDamagedByResave(
  j: { model: { vocab: Record<string, number>; byte_fallback?: boolean } },
  pre: readonly PreTokenizerStep[], decoder: readonly DecoderStep[], file: string,
): void {
  if (pre.some((s) => s.type === 'byteLevel')) return;
  const metaspace = pre.find((s) => s.type === 'metaspace') ?? decoder.find((s) => s.type === 'metaspace');
  const sentencePiece = metaspace !== undefined || j.model.byte_fallback === true || decoder.some((s) => s.type === 'byteFallback');
  if (!sentencePiece) return;
  const replacement = metaspace && 'replacement' in metaspace ? metaspace.replacement : '▁';
  // Word-initial tokens: a SentencePiece vocab has thousands starting with the replacement, a byte-level
  // one thousands with 'Ġ' (special tokens such as DeepSeek's <｜begin▁of▁sentence｜> only contain '▁').
  let marked = 0, spaced = 0;
  for (const tok of Object.keys(j.model.vocab)) {
    if (tok.startsWith(BYTE_LEVEL_SPACE)) marked++;
    else if (tok.startsWith(replacement)) spaced++;
  }
  if (marked < MIN_MARKED || spaced > 0) return;
  const how = [metaspace && 'a Metaspace pre-tokenizer/decoder', j.model.byte_fallback && 'byte_fallback'].filter(Boolean).join(' and ');
  throw new GptuneError(
    `damaged tokenizer: a byte-level BPE vocabulary (${marked} tokens start with '${BYTE_LEVEL_SPACE}', none with '${replacement}') ` +
    `is read with ${how || 'a SentencePiece-style decoder'}, so spaces would be lost. transformers 5 writes this when it re-saves a ` +
    `tokenizer whose tokenizer_class is LlamaTokenizerFast (transformers issue 45488). Use the original tokenizer.json from the ` +
    `model's source (the base model's repository, or a copy saved by transformers 4.x) in place of this file`,
    { file },
  );
}
