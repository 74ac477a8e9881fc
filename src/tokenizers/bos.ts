// The one BOS rule for every sequence gptune builds from text (task rows for train and eval, `data
// inspect`, generate's prompt, chat/serve's rendered conversation): the ids the tokenizer's own rule
// puts first (post-processor / add_bos_token: Llama 3's <|begin_of_text|>, nothing for GPT-2 or
// Qwen3), added once, never doubled when the text (a template's {{ bos_token }}) already begins with them.

/** The tokenizer surface the rule needs (src/data's TextTokenizer and src/tokenizers' Tokenizer both fit). */
export interface EncodesText {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
}

const prefixCache = new WeakMap<object, readonly number[]>();

/**
 * The ids encode() with special tokens puts before a text: found by encoding a probe with and without
 * them, so it holds for any tokenizer (template post-processor, add_bos_token, a test tokenizer).
 */
export function leadingSpecialIds(tok: EncodesText): readonly number[] {
  let prefix = prefixCache.get(tok);
  if (prefix) return prefix;
  const probe = 'a';
  const plain = tok.encode(probe, { addSpecialTokens: false });
  const withSpecial = tok.encode(probe, { addSpecialTokens: true });
  let at = 0;
  // The plain ids sit inside the special ones: prefix + plain + suffix.
  while (at + plain.length <= withSpecial.length && !plain.every((id, k) => withSpecial[at + k] === id)) at++;
  prefix = plain.length > 0 && at + plain.length <= withSpecial.length ? withSpecial.slice(0, at) : [];
  prefixCache.set(tok, prefix);
  return prefix;
}

/** ids (encoded without special tokens) as the start of a sequence: the tokenizer's leading ids first, unless already there. */
export function withLeadingSpecial(tok: EncodesText, ids: readonly number[]): number[] {
  const prefix = leadingSpecialIds(tok);
  if (prefix.length === 0 || prefix.every((id, k) => ids[k] === id)) return [...ids];
  return [...prefix, ...ids];
}

/** A prompt's ids as generate, chat and serve feed them: the text, then the BOS rule (no trailing EOS). */
export function encodePrompt(tok: EncodesText, text: string): number[] {
  return withLeadingSpecial(tok, text === '' ? [] : tok.encode(text, { addSpecialTokens: false }));
}
