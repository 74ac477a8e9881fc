// tokenizer.json post-processors for one text or a pair, with token type ids: TemplateProcessing
// (BERT's "[CLS] $A [SEP] $B:1 [SEP]:1"), BertProcessing and RobertaProcessing ("<s> A </s></s> B </s>"),
// read into one template shape. ByteLevel only touches offsets and adds nothing.
import type { JsonReader } from './pipeline_json.js';

export type TemplatePieceJson = { SpecialToken: { id: string; type_id?: number } } | { Sequence: { id: 'A' | 'B'; type_id?: number } };

export type PostProcessorJson =
  | { type: 'ByteLevel'; add_prefix_space?: boolean; trim_offsets?: boolean; use_regex?: boolean }
  | { type: 'TemplateProcessing'; single: TemplatePieceJson[]; pair?: TemplatePieceJson[]; special_tokens: Record<string, { id: string; ids: number[]; tokens: string[] }> }
  | { type: 'RobertaProcessing' | 'BertProcessing'; sep: [string, number]; cls: [string, number] }
  | { type: 'Sequence'; processors: PostProcessorJson[] };

/** One step of a template: special token ids, or the tokens of sequence A or B; each with its type id. */
export type TemplatePiece = { ids: number[]; typeId: number } | { seq: 0 | 1; typeId: number };

export interface PostProcessor {
  single: TemplatePiece[];
  pair: TemplatePiece[];
  /** 'roberta': transformers' RoBERTa tokenizers give the model no token_type_ids (its model_input_names). */
  kind: 'template' | 'bert' | 'roberta' | 'none';
}

export const NO_POST_PROCESSOR: PostProcessor = { single: [{ seq: 0, typeId: 0 }], pair: [{ seq: 0, typeId: 0 }, { seq: 1, typeId: 1 }], kind: 'none' };

/** The post-processor of tokenizer.json (the last one that adds tokens, in a Sequence). */
export function readPostProcessor(r: JsonReader, p: PostProcessorJson | null | undefined, key = 'post_processor'): PostProcessor {
  if (!p) return NO_POST_PROCESSOR;
  switch (p.type) {
    case 'ByteLevel': return NO_POST_PROCESSOR;
    case 'TemplateProcessing': {
      const single = readTemplate(r, p.single, p.special_tokens, `${key}.single`, 1);
      // Decoder files often carry a pair template nobody uses (some without $A); an unreadable one
      // falls back to HF's default pair (single, then B with type 1) rather than refusing the file.
      let pair: TemplatePiece[] = [...single, { seq: 1, typeId: 1 }];
      if (p.pair) try { pair = readTemplate(r, p.pair, p.special_tokens, `${key}.pair`, 2); } catch { /* keep the default */ }
      return { single, pair, kind: 'template' };
    }
    case 'BertProcessing': {
      const cls = p.cls[1], sep = p.sep[1];
      return { single: [{ ids: [cls], typeId: 0 }, { seq: 0, typeId: 0 }, { ids: [sep], typeId: 0 }],
        pair: [{ ids: [cls], typeId: 0 }, { seq: 0, typeId: 0 }, { ids: [sep], typeId: 0 }, { seq: 1, typeId: 1 }, { ids: [sep], typeId: 1 }], kind: 'bert' };
    }
    case 'RobertaProcessing': {
      const cls = p.cls[1], sep = p.sep[1];
      return { single: [{ ids: [cls], typeId: 0 }, { seq: 0, typeId: 0 }, { ids: [sep], typeId: 0 }],
        pair: [{ ids: [cls], typeId: 0 }, { seq: 0, typeId: 0 }, { ids: [sep, sep], typeId: 0 }, { seq: 1, typeId: 0 }, { ids: [sep], typeId: 0 }], kind: 'roberta' };
    }
    case 'Sequence': {
      let out = NO_POST_PROCESSOR;
      p.processors.forEach((x, i) => { const q = readPostProcessor(r, x, `${key}.processors[${i}]`); if (q.kind !== 'none') out = q; });
      return out;
    }
    default: return r.unsupported(key, (p as { type: unknown }).type);
  }
}

function readTemplate(r: JsonReader, pieces: TemplatePieceJson[], special: Record<string, { ids: number[] }> | undefined, key: string, seqs: 1 | 2): TemplatePiece[] {
  if (!Array.isArray(pieces)) r.fail(key, 'expected an array of template pieces');
  const seen = [false, false];
  const out = pieces.map((piece): TemplatePiece => {
    if (piece && 'Sequence' in piece) {
      const seq = piece.Sequence.id === 'A' ? 0 : piece.Sequence.id === 'B' ? 1 : r.fail(key, `unknown sequence id ${JSON.stringify(piece.Sequence.id)}`);
      if (seq >= seqs || seen[seq]) r.fail(key, `the ${seqs === 1 ? 'single' : 'pair'} template must hold ${seqs === 1 ? '$A' : '$A and $B'} exactly once`);
      seen[seq] = true;
      return { seq, typeId: piece.Sequence.type_id ?? 0 };
    }
    if (piece && 'SpecialToken' in piece) {
      const st = special?.[piece.SpecialToken.id];
      if (!st || !Array.isArray(st.ids)) r.fail(key, `template token '${piece.SpecialToken.id}' is missing from special_tokens`);
      return { ids: st!.ids, typeId: piece.SpecialToken.type_id ?? 0 };
    }
    return r.fail(key, `unknown template piece ${JSON.stringify(piece)}`);
  });
  if (!seen[0]) r.fail(key, `the ${seqs === 1 ? 'single' : 'pair'} template has no $A`);
  // A pair template without $B (some decoder files) still encodes pairs: B goes at the end with type 1.
  if (seqs === 2 && !seen[1]) out.push({ seq: 1, typeId: 1 });
  return out;
}

/** The ids a template adds around the sequences (what truncation leaves room for). */
export function addedCount(t: TemplatePiece[]): number {
  return t.reduce((n, p) => n + ('ids' in p ? p.ids.length : 0), 0);
}

/** The prefix and suffix ids of the single template, for Tokenizer.encode's addSpecialTokens. */
export function singlePrefixSuffix(p: PostProcessor): { prefix: number[]; suffix: number[] } {
  const prefix: number[] = [], suffix: number[] = [];
  let seenA = false;
  for (const piece of p.single) {
    if ('seq' in piece) seenA = true;
    else (seenA ? suffix : prefix).push(...piece.ids);
  }
  return { prefix, suffix };
}
