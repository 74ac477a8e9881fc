// tokenizer.json normalizers, applied in order to a text segment before pre-tokenization, as Hugging
// Face tokenizers does: Unicode forms, Lowercase, Replace (SentencePiece-style ' ' -> '▁'), Prepend
// (Llama 2's leading '▁' on every non-empty segment) and Strip (Unicode White_Space at either end).

export type Normalizer =
  | { type: 'unicode'; form: 'NFC' | 'NFD' | 'NFKC' | 'NFKD' }
  | { type: 'lowercase' }
  | { type: 'replace'; pattern: RegExp; content: string }
  | { type: 'prepend'; prepend: string }
  | { type: 'strip'; left: boolean; right: boolean };

const LEADING_SPACE = /^\p{White_Space}+/u;
const TRAILING_SPACE = /\p{White_Space}+$/u;

export function normalize(steps: readonly Normalizer[], s: string): string {
  for (const n of steps) {
    switch (n.type) {
      case 'unicode': s = s.normalize(n.form); break;
      case 'lowercase': s = s.toLowerCase(); break;
      // A function replacement: the content is literal ('$' has no special meaning), as in HF.
      case 'replace': s = s.replace(n.pattern, () => n.content); break;
      case 'prepend': if (s !== '') s = n.prepend + s; break;
      case 'strip':
        if (n.left) s = s.replace(LEADING_SPACE, '');
        if (n.right) s = s.replace(TRAILING_SPACE, '');
        break;
    }
  }
  return s;
}
