// `gptune predict`: labels with probabilities from a model with a classification head, as Hugging
// Face's pipelines give them: text-classification (softmax; sigmoid per label for multi-label; the raw
// value for regression) and token-classification with aggregation_strategy="first" (each word takes
// its first sub-token's prediction; words grouped into entities).
import { opt, type OptionValues } from './option.js';
import { openTaskModel, requireClassifier } from './task_open.js';
import { dataProblemType } from './eval_classification.js';
import { readUnlabelledInputs, type UnlabelledInput } from '../data/unlabelled.js';
import type { ClassificationRow } from '../data/classification.js';
import { encodeInput, encodeWordsInput, takesTypeIds } from '../tokenizers/encode_inputs.js';
import { argmaxRow, forEachTaskBatch, sigmoid, softmaxRow } from '../eval/task_inference.js';
import { groupEntities } from '../eval/entity_groups.js';
import type { LoadedTokenizer } from '../tokenizers/load.js';
import { GptuneError, UsageError } from '../util/errors.js';

export const PREDICT_OPTIONS = {
  model: opt.string({ arg: 'dir', required: true, help: 'a model directory with a sequence or token classification head' }),
  adapter: opt.string({ arg: 'dir', help: 'a LoRA adapter (PEFT SEQ_CLS / TOKEN_CLS) to apply' }),
  tokenizer: opt.string({ arg: 'name|dir', help: 'tokenizer to use instead of the model directory\'s (or the adapter\'s)' }),
  text: opt.list({ arg: 'text', variadic: true, help: 'texts to label (--text "a" "b", or --text repeated)' }),
  textPair: opt.list({ arg: 'text', variadic: true, help: 'a second text for each --text (sentence-pair tasks: entailment, paraphrase)' }),
  data: opt.string({ arg: 'file', help: 'JSONL rows {"text"}, {"text","text_pair"}, {"tokens"} or {"input_ids"}, or CSV with a text column (labels are ignored)' }),
  topK: opt.int({ min: 1, defaultRule: '1 (multi-label: every label over --threshold)', help: 'labels per input, most probable first' }),
  threshold: opt.number({ min: 0, max: 1, default: 0.5, help: 'multi-label: a label is predicted when its sigmoid probability is at least x' }),
  batchSize: opt.int({ min: 1, default: 8, help: 'inputs per forward' }),
  maxLength: opt.int({ min: 2, defaultRule: 'the model\'s positions', help: 'cut inputs to n tokens (special tokens included)' }),
  json: opt.bool({ default: false, help: 'one JSON object per input (JSONL)' }),
};
export type PredictRunOptions = OptionValues<typeof PREDICT_OPTIONS>;

export interface LabelScore { label: string; score: number }
export interface WordTag { word: string; label: string; score: number }
export interface EntitySpan { entity: string; score: number; word: string; start: number; end: number }

/** One input's prediction: the input as given, then the fields its head gives. */
export interface Prediction {
  line?: number;
  text?: string;
  text_pair?: string;
  tokens?: string[];
  input_ids?: number[];
  /** The input was cut to the max length (token classification: the cut words have no tags). */
  truncated?: true;
  /** Single-label: the top label and its probability. */
  label?: string;
  score?: number;
  /** Single-label: the top-k labels; multi-label: the labels over the threshold (at most top-k). */
  labels?: LabelScore[];
  /** Multi-label: every label's probability. */
  scores?: Record<string, number>;
  /** Regression with one output. */
  value?: number;
  /** Regression with several outputs, by label name. */
  values?: Record<string, number>;
  /** Token classification: each word's tag and probability (its first sub-token's). */
  words?: WordTag[];
  /** Token classification: words grouped into entities (HF's group_entities; O dropped); start/end are word indexes [start, end). */
  entities?: EntitySpan[];
}

interface Encoded { row: ClassificationRow; wordIds: (number | null)[]; words: string[] | null; truncated: boolean }

export function runPredict(o: PredictRunOptions): Prediction[] {
  const inputs = predictInputs(o);
  const m = openTaskModel(o.model, { adapter: o.adapter, tokenizer: o.tokenizer });
  requireClassifier(m, 'gptune predict');
  const { model } = m;
  const head = model.task;
  const problem = dataProblemType(model);
  const maxLength = Math.min(o.maxLength ?? model.maxPositions, model.maxPositions);
  const vocab = typeof model.hfConfig.vocab_size === 'number' ? model.hfConfig.vocab_size : Infinity;
  const encoded = inputs.map((x) => encode(x, m.tok, head === 'token_cls', maxLength, vocab, o.data));
  const names = model.labels.id2label;
  const L = model.numLabels;
  const out: Prediction[] = [];
  forEachTaskBatch(model, encoded.map((e) => e.row), { batchSize: o.batchSize, padId: m.padId }, ({ batch, logits, start }) => {
    const x = logits.data;
    for (let b = 0; b < batch.batchSize; b++) {
      const e = encoded[start + b];
      const p: Prediction = echo(inputs[start + b]);
      if (e.truncated) p.truncated = true;
      if (head === 'token_cls') {
        Object.assign(p, tagWords(e, (t) => softmaxRow(x, (b * batch.seqLen + t) * L, L), names, m.tok));
      } else if (problem === 'single_label_classification') {
        const probs = softmaxRow(x, b * L, L);
        const ranked = rank(probs, names).slice(0, o.topK ?? 1);
        Object.assign(p, { label: ranked[0].label, score: ranked[0].score, labels: ranked });
      } else if (problem === 'multi_label_classification') {
        const probs = Array.from({ length: L }, (_, j) => sigmoid(x[b * L + j]));
        const over = rank(probs, names).filter((s) => s.score >= o.threshold);
        p.labels = o.topK ? over.slice(0, o.topK) : over;
        p.scores = Object.fromEntries(names.map((n, j) => [n, probs[j]]));
      } else if (L === 1) {
        p.value = x[b];
      } else {
        p.values = Object.fromEntries(names.map((n, j) => [n, x[b * L + j]]));
      }
      out.push(p);
    }
  });
  return out;
}

function predictInputs(o: PredictRunOptions): UnlabelledInput[] {
  const texts = o.text ?? [];
  if (texts.length && o.data) throw new UsageError('give --text or --data, not both');
  if (o.data) {
    if (o.textPair?.length) throw new UsageError('--text-pair goes with --text; in --data files pairs are {"text", "text_pair"} rows');
    return readUnlabelledInputs(o.data);
  }
  if (!texts.length) throw new UsageError('give the inputs: --text "..." (several allowed) or --data FILE');
  const pairs = o.textPair ?? [];
  if (pairs.length && pairs.length !== texts.length) throw new UsageError(`${pairs.length} --text-pair for ${texts.length} --text: give one pair per text`);
  return texts.map((text, i) => ({ text, textPair: pairs[i] ?? null }));
}

/** Token ids, type ids and each token's word (null for special tokens) for one input. */
function encode(x: UnlabelledInput, tok: LoadedTokenizer | null, tokens: boolean, maxLength: number, vocab: number, file?: string): Encoded {
  const where = { file, line: x.line };
  if (x.inputIds) {
    const bad = x.inputIds.find((id) => id >= vocab);
    if (bad !== undefined) throw new GptuneError(`token id ${bad} is outside the vocabulary (0..${vocab - 1})`, { ...where, key: 'input_ids' });
    const n = Math.min(x.inputIds.length, maxLength);
    const ids = x.inputIds.slice(0, n);
    // Pre-tokenized: every token is its own word, special tokens (known only with a tokenizer) none.
    const wordIds = ids.map((id, i) => (tok?.tokenizer.isSpecial(id) ? null : i));
    const words = ids.map((id) => tok?.tokenizer.idToToken(id) ?? String(id));
    return { row: { inputIds: ids, tokenTypeIds: x.typeIds?.slice(0, n) ?? null, label: null, tokenLabels: null, line: x.line }, wordIds, words, truncated: n < x.inputIds.length };
  }
  if (!tok) throw new UsageError(`text inputs need a tokenizer, and the model has none: give --tokenizer${file ? ', or {"input_ids"} rows' : ''}`);
  if (tokens && x.textPair) throw new GptuneError('token classification takes one text per input, not a pair', where);
  const e = x.tokens ? encodeWordsInput(tok.tokenizer, x.tokens, null, { maxLength }) : encodeInput(tok.tokenizer, x.text!, x.textPair ?? null, { maxLength });
  // Word ids of the second text of a pair would repeat the first's; only the first text's words are tagged.
  const wordIds = e.wordIds.map((w, i) => (e.sequenceIds[i] === 0 ? w : null));
  const types = takesTypeIds(tok.tokenizer) ? e.typeIds : null;
  return { row: { inputIds: e.ids, tokenTypeIds: types, label: null, tokenLabels: null, line: x.line }, wordIds, words: x.tokens ?? null, truncated: e.truncated };
}

function echo(x: UnlabelledInput): Prediction {
  const p: Prediction = {};
  if (x.line !== undefined) p.line = x.line;
  if (x.text !== undefined) p.text = x.text;
  if (x.textPair) p.text_pair = x.textPair;
  if (x.tokens) p.tokens = x.tokens;
  if (x.inputIds) p.input_ids = x.inputIds;
  return p;
}

function rank(probs: number[], names: readonly string[]): LabelScore[] {
  return probs.map((score, j) => ({ label: names[j], score })).sort((a, b) => b.score - a.score);
}

/**
 * HF's aggregation_strategy="first": a word's label and score are its first sub-token's argmax and
 * probability; its text is the given word, else its sub-tokens decoded (HF's convert_tokens_to_string).
 */
function tagWords(e: Encoded, probsAt: (t: number) => number[], names: readonly string[], tok: LoadedTokenizer | null): Pick<Prediction, 'words' | 'entities'> {
  const spans: { word: number; first: number; ids: number[] }[] = [];
  e.wordIds.forEach((w, t) => {
    if (w === null) return;
    const last = spans[spans.length - 1];
    if (last && last.word === w) last.ids.push(e.row.inputIds[t]);
    else spans.push({ word: w, first: t, ids: [e.row.inputIds[t]] });
  });
  const text = (s: { word: number; ids: number[] }) => e.words?.[s.word] ?? tok?.tokenizer.decode(s.ids) ?? s.ids.join(' ');
  const words: WordTag[] = spans.map((s) => {
    const probs = probsAt(s.first);
    const k = argmaxRow(probs, 0, probs.length);
    return { word: text(s), label: names[k], score: probs[k] };
  });
  const entities = groupEntities(words).map((g): EntitySpan => {
    const group = spans.slice(g.start, g.end);
    const word = e.words ? group.map((s) => e.words![s.word]).join(' ') : tok ? tok.tokenizer.decode(group.flatMap((s) => s.ids)) : group.map(text).join(' ');
    return { entity: g.entity, score: g.score, word, start: g.start, end: g.end };
  });
  return { words, entities };
}
