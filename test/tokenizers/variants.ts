// tokenizer.json variants built on GPT-2's vocab and merges, one per pre-tokenizer style gptune must
// load (Llama 3, Qwen2, tiktoken-style possessive patterns, DeepSeek-style chained Splits). The ids
// Hugging Face tokenizers gives for them are stored in test/fixtures/tokenizers/hf_ids.json.
import type { TokenizerJson, PreTokenizerJson } from '../../src/tokenizers/tokenizer_json.js';

export const LLAMA3_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
export const QWEN2_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
// tiktoken's newer cl100k spelling: possessive quantifiers, an interval followed by +, and \s++$.
export const POSSESSIVE_PATTERN = "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}+| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+|\\s++$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s";
export const O200K_PATTERN = "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const byteLevelNoRegex: PreTokenizerJson = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false };
const split = (pattern: string, behavior: 'Isolated' | 'Removed' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous' = 'Isolated'): PreTokenizerJson =>
  ({ type: 'Split', pattern: { Regex: pattern }, behavior, invert: false });

const special = (id: number, content: string, extra: Partial<{ lstrip: boolean; rstrip: boolean; single_word: boolean; normalized: boolean; special: boolean }> = {}) =>
  ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true, ...extra });

function withParts(base: TokenizerJson, parts: Partial<TokenizerJson>, model: Partial<TokenizerJson['model']> = {}): TokenizerJson {
  return { ...base, ...parts, model: { ...base.model, ...model } };
}

/** name -> tokenizer.json built from GPT-2's (ids 50257+ are the variant's added tokens). */
export function tokenizerVariants(gpt2: TokenizerJson): Record<string, TokenizerJson> {
  const bot = special(50257, '<|begin_of_text|>'), eot = special(50258, '<|end_of_text|>');
  return {
    gpt2,
    gpt2_merge_pairs: withParts(gpt2, {}, { merges: gpt2.model.merges.map((m) => (typeof m === 'string' ? m.split(' ') as [string, string] : m)) }),
    gpt2_prefix_space: withParts(gpt2, { pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true } }),
    llama3: withParts(gpt2, {
      added_tokens: [...gpt2.added_tokens!, bot, eot, special(50259, '<|eot_id|>')],
      pre_tokenizer: { type: 'Sequence', pretokenizers: [split(LLAMA3_PATTERN), byteLevelNoRegex] },
      post_processor: {
        type: 'Sequence', processors: [
          { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
          {
            type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
            pair: [], special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [50257], tokens: ['<|begin_of_text|>'] } },
          },
        ],
      },
    }, { ignore_merges: true }),
    qwen2: withParts(gpt2, {
      added_tokens: [...gpt2.added_tokens!, special(50257, '<|im_start|>'), special(50258, '<|im_end|>'),
        special(50259, '<tool_call>', { special: false, normalized: false })],
      normalizer: { type: 'NFC' },
      pre_tokenizer: { type: 'Sequence', pretokenizers: [split(QWEN2_PATTERN), byteLevelNoRegex] },
    }),
    possessive: withParts(gpt2, { pre_tokenizer: { type: 'Sequence', pretokenizers: [split(POSSESSIVE_PATTERN), byteLevelNoRegex] } }),
    o200k_style: withParts(gpt2, { pre_tokenizer: { type: 'Sequence', pretokenizers: [split(O200K_PATTERN), byteLevelNoRegex] } }),
    chained_splits: withParts(gpt2, {
      pre_tokenizer: {
        type: 'Sequence', pretokenizers: [
          split('\\p{N}{1,3}'), split('[一-龥\u3040-ゟ゠-ヿ]+'), { type: 'Digits', individual_digits: false },
          split("[\\r\\n]|\\s[^\\s\\p{L}]|[^\\s\\p{L}\\p{N}]+|\\s+|\\p{L}+", 'Isolated'), byteLevelNoRegex,
        ],
      },
    }),
    behaviors: withParts(gpt2, {
      pre_tokenizer: {
        type: 'Sequence', pretokenizers: [
          split(',', 'Removed'), split('-', 'MergedWithPrevious'), split('\\.', 'MergedWithNext'), split('!', 'Contiguous'),
          { type: 'Digits', individual_digits: true }, { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
        ],
      },
    }),
    added_strip: withParts(gpt2, {
      added_tokens: [...gpt2.added_tokens!,
        special(50257, '<mask>', { lstrip: true }), special(50258, '[R]', { rstrip: true }),
        special(50259, 'word', { single_word: true, special: false, normalized: true }),
        special(50260, 'Hello', { special: false, normalized: true }), special(50261, 'ℌ', { special: false, normalized: true })],
      normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }] },
    }),
  };
}

/** Strings where the variants differ from one another and from GPT-2; the generated text is added to these. */
export const TARGETED_STRINGS = [
  '1234567', '12345 678 9', '3.14159265', 'x=1000000;', "I'M HERE, WE'LL SEE, THEY'RE", "it's 'S 'ſ \u212Aelvin", "don't DON'T Don'T",
  'line\r\n\r\nbreak\n\n\n', '  \n  trailing  ', 'tabs\t\tand\t', '\u0085 nel \ufeff bom', 'a\u0085b\ufeffc',
  '<|begin_of_text|>Hello<|end_of_text|>', 'x <|im_start|>user\nhi<|im_end|>\n', 'call <tool_call> now',
  'a  <mask>  b [R]   c', 'word words sword word_ word.', 'Hello hello HELLO ℌello', 'ﬁne ① ＡＢＣ', 'café cafe\u0301',
  '中文字符和日本語のテキスト123', 'one,two-three.four!!five!six', '<|endoftext|>', '', ' ', '\n',
  'the 2023-10-01T12:00:00Z timestamp', '$1,234.56 and 78%', 'naïve  über   ', '😀😀 👍🏽!', 'path/to/file.txt //comment',
];
