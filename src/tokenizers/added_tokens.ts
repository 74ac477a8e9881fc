// Added tokens (<|endoftext|>, <|begin_of_text|>, ...) are cut out of the text before pre-tokenization,
// as HF's AddedVocabulary does: leftmost-longest matches, with lstrip/rstrip eating the whitespace
// beside a match and single_word refusing matches inside a word. Tokens marked `normalized` are
// matched after normalization, the others on the raw text.

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
  normalized: boolean;
}

/** A piece of text to tokenize, or the id of an added token found in the text. */
export type Segment = string | number;

const WORD_CHAR = /[\p{L}\p{N}_]/u;
const SPACE_CHAR = /\p{White_Space}/u;

export class AddedTokenMatcher {
  private readonly byContent: Map<string, AddedToken>;
  private readonly regex: RegExp | null;

  /** matchText: the text each token is found as (HF normalizes the content of `normalized` tokens). */
  constructor(readonly tokens: readonly AddedToken[], matchText: (t: AddedToken) => string = (t) => t.content) {
    this.byContent = new Map();
    for (const t of tokens) {
      const key = matchText(t);
      if (key !== '' && !this.byContent.has(key)) this.byContent.set(key, t);
    }
    // Longest first: JS alternation is ordered, so this gives leftmost-longest.
    const contents = [...this.byContent.keys()].sort((a, b) => b.length - a.length);
    this.regex = contents.length ? new RegExp(contents.map(escapeRegex).join('|'), 'gu') : null;
  }

  get size(): number {
    return this.byContent.size;
  }

  /** Splits text around the tokens that `use` accepts; text pieces keep their order. */
  split(text: string, use: (t: AddedToken) => boolean, out: Segment[]): void {
    if (!this.regex || text === '') {
      if (text !== '') out.push(text);
      return;
    }
    const re = this.regex;
    re.lastIndex = 0;
    let done = 0;   // end of the last accepted match
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const tok = this.byContent.get(m[0])!;
      let start = m.index, end = start + m[0].length;
      if (!use(tok)) { re.lastIndex = start + charAt(text, start).length; continue; }
      if (tok.singleWord) {
        const before = start > 0 && WORD_CHAR.test(charBefore(text, start));
        const after = end < text.length && WORD_CHAR.test(charAt(text, end));
        if (before || after) continue;
      }
      if (tok.lstrip) while (start > done && SPACE_CHAR.test(charBefore(text, start))) start -= charBefore(text, start).length;
      if (tok.rstrip) {
        while (end < text.length && SPACE_CHAR.test(charAt(text, end))) end += charAt(text, end).length;
        re.lastIndex = end;
      }
      if (start > done) out.push(text.slice(done, start));
      out.push(tok.id);
      done = end;
    }
    if (done < text.length) out.push(text.slice(done));
  }
}

function charAt(s: string, i: number): string {
  return String.fromCodePoint(s.codePointAt(i)!);
}

function charBefore(s: string, i: number): string {
  const c = s.charCodeAt(i - 1);
  return c >= 0xdc00 && c <= 0xdfff && i >= 2 ? s.slice(i - 2, i) : s[i - 1];
}

export function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/**
 * A tokenizer's added tokens as one unit (HF's AddedVocabulary): the two matching passes, the id <->
 * content maps beside the model's vocabulary, and which ids are special. BPE and WordPiece share it.
 */
export class AddedVocabulary {
  /** The model's size, extended to cover every added id. */
  readonly size: number;
  private readonly rawMatcher: AddedTokenMatcher;
  private readonly normalizedMatcher: AddedTokenMatcher;
  private readonly byId = new Map<number, AddedToken>();
  private readonly byContent = new Map<string, AddedToken>();
  private readonly special: Uint8Array;

  /** normalize: the tokenizer's normalizer (identity when it has none). */
  constructor(tokens: readonly AddedToken[], modelSize: number, private readonly normalize: ((s: string) => string) | null) {
    // Without a normalizer the "normalized" text is the raw text, but HF still matches in two passes.
    this.rawMatcher = new AddedTokenMatcher(tokens.filter((t) => !t.normalized));
    this.normalizedMatcher = new AddedTokenMatcher(tokens.filter((t) => t.normalized), (t) => (normalize ? normalize(t.content) : t.content));
    let size = modelSize;
    for (const t of tokens) {
      this.byId.set(t.id, t);
      this.byContent.set(t.content, t);
      size = Math.max(size, t.id + 1);
    }
    this.size = size;
    this.special = new Uint8Array(size);
    for (const t of tokens) if (t.special) this.special[t.id] = 1;
  }

  /**
   * Cuts the added tokens out of text in HF's order (raw matches, normalize the rest, normalized
   * matches): onId for each token found, onText for each normalized piece left, with whether it
   * starts the input (SentencePiece's Metaspace 'first' rule).
   */
  split(text: string, parseSpecial: boolean, onId: (id: number) => void, onText: (piece: string, first: boolean) => void): void {
    const use = (t: AddedToken) => parseSpecial || !t.special;
    const raw: Segment[] = [];
    this.rawMatcher.split(text, use, raw);
    for (let i = 0; i < raw.length; i++) {
      const seg = raw[i];
      if (typeof seg === 'number') { onId(seg); continue; }
      const segs: Segment[] = [];
      this.normalizedMatcher.split(this.normalize ? this.normalize(seg) : seg, use, segs);
      for (let j = 0; j < segs.length; j++) {
        const s = segs[j];
        if (typeof s === 'number') onId(s);
        else onText(s, i === 0 && j === 0);
      }
    }
  }

  /** The added token's content for id, or undefined (then the model's vocabulary decides). */
  content(id: number): string | undefined {
    return this.byId.get(id)?.content;
  }

  idOf(content: string): number | undefined {
    return this.byContent.get(content)?.id;
  }

  isSpecial(id: number): boolean {
    return this.special[id] === 1;
  }
}
