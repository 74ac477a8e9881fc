// The WordPiece model (BERT): each pre-token split greedily into the longest vocab pieces from the left,
// pieces after the first spelled with the '##' prefix; a word with no split, or longer than
// max_input_chars_per_word characters, becomes [UNK] as a whole. And its decoder.

export interface WordPieceOptions {
  unkToken: string;
  continuingSubwordPrefix: string;
  maxInputCharsPerWord: number;
}

export class WordPieceModel {
  readonly idToTokenTable: string[] = [];
  readonly unkId: number;

  constructor(readonly vocab: Map<string, number>, readonly opts: WordPieceOptions) {
    for (const [t, id] of vocab) this.idToTokenTable[id] = t;
    const unk = vocab.get(opts.unkToken);
    if (unk === undefined) throw new Error(`the unk token '${opts.unkToken}' is not in the vocab`);
    this.unkId = unk;
  }

  get size(): number {
    return this.idToTokenTable.length;
  }

  /** Appends the ids of one pre-token to out; returns how many. */
  encodeWord(word: string, out: number[]): number {
    const chars = Array.from(word);
    if (chars.length > this.opts.maxInputCharsPerWord) { out.push(this.unkId); return 1; }
    const from = out.length;
    let start = 0;
    while (start < chars.length) {
      let end = chars.length, found = -1;
      while (start < end) {
        const piece = (start > 0 ? this.opts.continuingSubwordPrefix : '') + chars.slice(start, end).join('');
        const id = this.vocab.get(piece);
        if (id !== undefined) { found = id; break; }
        end--;
      }
      if (found < 0) { out.length = from; out.push(this.unkId); return 1; }
      out.push(found);
      start = end;
    }
    return out.length - from;
  }
}

/** HF's WordPiece decoder: a piece with the prefix joins the previous one, others get a space; cleanup tidies punctuation. */
export function wordPieceDecode(tokens: string[], prefix: string, cleanup: boolean): string {
  return tokens.map((t, i) => {
    if (i !== 0) t = t.startsWith(prefix) ? t.replace(prefix, () => '') : ' ' + t;
    return cleanup ? cleanupSpaces(t) : t;
  }).join('');
}

// tokenizers' decoders::wordpiece::cleanup, in its order.
function cleanupSpaces(s: string): string {
  return s.replaceAll(' .', '.').replaceAll(' ?', '?').replaceAll(' !', '!').replaceAll(' ,', ',')
    .replaceAll(" ' ", "'").replaceAll(" n't", "n't").replaceAll(" 'm", "'m").replaceAll(' do not', " don't")
    .replaceAll(" 's", "'s").replaceAll(" 've", "'ve").replaceAll(" 're", "'re");
}
