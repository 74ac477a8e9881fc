// The BPE model: a pre-token starts as one symbol per character (per UTF-8 byte in byte-level BPE,
// whose vocab spells bytes as characters) and the adjacent pair with the lowest merge rank is merged
// (leftmost first on ties) until no pair has a rank, exactly as Hugging Face tokenizers' BPE does.
// SentencePiece-style BPE spells a character missing from the vocab as <0xNN> byte tokens
// (byte_fallback). Results are cached per pre-token in a bounded cache.
import { BYTE_TO_CHAR, bytesToToken, tokenToBytes, utf8Into } from './byte_level.js';

export interface BpeOptions {
  /** Symbols are UTF-8 bytes spelled with GPT-2's byte alphabet (default true); false: Unicode characters. */
  byteLevel?: boolean;
  /** A character missing from the vocab becomes its <0xNN> byte tokens (SentencePiece-style BPE). */
  byteFallback?: boolean;
  /** Consecutive unknown characters give one unk token (HF's fuse_unk). */
  fuseUnk?: boolean;
  /** Emit a pre-token that is itself in the vocab without merging (Llama 3's `ignore_merges`). */
  ignoreMerges?: boolean;
  /** Token emitted for a byte missing from the vocab; without one the byte is dropped, as HF does. */
  unkToken?: string | null;
  /** Pre-tokens cached (default 50,000; HF keeps 10,000); 0 disables the cache. */
  cacheCapacity?: number;
}

/** Problems with the vocab or merges, reported by index so the loader can name the file and line. */
export class BpeDataError extends Error {
  constructor(message: string, readonly mergeIndex?: number) { super(message); }
}

// Words longer than this merge with a heap; shorter ones with the simple scan (faster for short arrays).
export const HEAP_THRESHOLD = { bytes: 48 };
const MAX_CACHED_LENGTH = 256;
const EMPTY = -1;

export class BytePairModel {
  /** id -> token as spelled in the vocab (byte-level alphabet); undefined for unused ids. */
  readonly idToTokenTable: (string | undefined)[];
  /** id -> bytes the token stands for. */
  readonly idToBytes: (Uint8Array | undefined)[];
  readonly vocab: ReadonlyMap<string, number>;
  readonly merges: readonly [string, string][];
  private readonly byteIds = new Int32Array(256).fill(-1);
  /** byte -> id of its <0xNN> token (byte_fallback), or -1. */
  private readonly byteTokenIds = new Int32Array(256).fill(-1);
  private readonly unkId: number;
  private readonly ignoreMerges: boolean;
  readonly byteLevel: boolean;
  private readonly byteFallback: boolean;
  private readonly fuseUnk: boolean;

  // Merge table: open addressing keyed on (left id, right id) -> (rank, merged id).
  private readonly mask: number;
  private readonly keyA: Int32Array;
  private readonly keyB: Int32Array;
  private readonly rank: Int32Array;
  private readonly out: Int32Array;

  private readonly cache: PieceCache;
  // Scratch arrays reused across words: UTF-8 bytes, symbols, pair ranks and pair outputs.
  private scratch: Int32Array = new Int32Array(256);
  private sym = new Int32Array(64);
  private pr = new Int32Array(64);
  private po = new Int32Array(64);

  constructor(vocab: ReadonlyMap<string, number>, merges: readonly [string, string][], opts: BpeOptions = {}) {
    this.vocab = vocab;
    this.merges = merges;
    this.ignoreMerges = opts.ignoreMerges ?? false;
    this.byteLevel = opts.byteLevel ?? true;
    this.byteFallback = opts.byteFallback ?? false;
    this.fuseUnk = opts.fuseUnk ?? false;
    this.cache = new PieceCache(opts.cacheCapacity ?? 50_000);
    let maxId = -1;
    for (const id of vocab.values()) {
      if (!Number.isInteger(id) || id < 0) throw new BpeDataError(`token id ${id} is not a non-negative integer`);
      if (id > maxId) maxId = id;
    }
    this.idToTokenTable = new Array(maxId + 1);
    this.idToBytes = new Array(maxId + 1);
    for (const [tok, id] of vocab) {
      this.idToTokenTable[id] = tok;
      if (this.byteLevel) this.idToBytes[id] = tokenToBytes(tok);
    }
    for (let b = 0; b < 256; b++) {
      this.byteIds[b] = vocab.get(BYTE_TO_CHAR[b]) ?? -1;
      this.byteTokenIds[b] = vocab.get(byteTokenName(b)) ?? -1;
    }
    this.unkId = opts.unkToken != null ? vocab.get(opts.unkToken) ?? -1 : -1;
    if (opts.unkToken != null && this.unkId < 0) throw new BpeDataError(`unk_token '${opts.unkToken}' is not in the vocab`);

    let size = 16;
    while (size < merges.length * 2) size *= 2;
    this.mask = size - 1;
    this.keyA = new Int32Array(size).fill(EMPTY);
    this.keyB = new Int32Array(size);
    this.rank = new Int32Array(size);
    this.out = new Int32Array(size);
    merges.forEach(([a, b], r) => {
      const ia = vocab.get(a), ib = vocab.get(b), io = vocab.get(a + b);
      if (ia === undefined) throw new BpeDataError(`merge ${JSON.stringify(a + ' ' + b)}: '${a}' is not in the vocab`, r);
      if (ib === undefined) throw new BpeDataError(`merge ${JSON.stringify(a + ' ' + b)}: '${b}' is not in the vocab`, r);
      if (io === undefined) throw new BpeDataError(`merge ${JSON.stringify(a + ' ' + b)}: the merged token '${a + b}' is not in the vocab`, r);
      // A repeated pair keeps its last rank, as HF's HashMap collect does.
      const slot = this.slot(ia, ib);
      this.keyA[slot] = ia;
      this.keyB[slot] = ib;
      this.rank[slot] = r;
      this.out[slot] = io;
    });
  }

  get size(): number {
    return this.idToTokenTable.length;
  }

  // The slot holding (a, b), or the empty slot where it would go.
  private slot(a: number, b: number): number {
    let h = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca6b)) >>> 0;
    h = (h ^ (h >>> 15)) & this.mask;
    for (;;) {
      const k = this.keyA[h];
      if (k === EMPTY || (k === a && this.keyB[h] === b)) return h;
      h = (h + 1) & this.mask;
    }
  }

  /** Rank of merging (a, b), or -1. */
  pairRank(a: number, b: number): number {
    const s = this.slot(a, b);
    return this.keyA[s] === EMPTY ? -1 : this.rank[s];
  }

  /** Appends the ids of one pre-token (a JS string; its UTF-8 bytes are what get merged). */
  encodePiece(piece: string, ids: number[]): void {
    this.encodeRange(piece, 0, piece.length, ids);
  }

  /** Appends the ids of the pre-token text[start, end): a cache hit allocates nothing. */
  encodeRange(text: string, start: number, end: number, ids: number[]): void {
    const len = end - start;
    let h = 0x811c9dc5 ^ len;
    for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    const c = this.cache;
    let slot = h & c.mask;
    for (;;) {
      const key = c.keys[slot];
      if (key === undefined) break;
      if (c.hashes[slot] === h && key.length === len && sameText(key, text, start)) {
        const hit = c.values[slot]!;
        for (let i = 0; i < hit.length; i++) ids.push(hit[i]);
        return;
      }
      slot = (slot + 1) & c.mask;
    }
    const piece = start === 0 && end === text.length ? text : text.slice(start, end);
    const result = this.encodeUncached(piece);
    if (len <= MAX_CACHED_LENGTH && c.capacity > 0) {
      if (c.count >= c.capacity) {
        c.clear();
        slot = h & c.mask;
      }
      c.keys[slot] = piece;
      c.hashes[slot] = h;
      c.values[slot] = result;
      c.count++;
    }
    for (let i = 0; i < result.length; i++) ids.push(result[i]);
  }

  private encodeUncached(piece: string): Int32Array {
    if (!this.byteLevel) return this.encodeChars(piece);
    const [buf, n] = utf8Into(piece, this.scratch);
    this.scratch = buf;
    if (this.ignoreMerges) {
      const id = this.vocab.get(bytesToToken(buf.subarray(0, n)));
      if (id !== undefined) return Int32Array.of(id);
    }
    // Bytes -> initial symbols; a byte missing from the vocab becomes unk (consecutive ones fused) or is dropped.
    if (this.sym.length < n) this.sym = new Int32Array(2 * n);
    const sym = this.sym;
    let m = 0;
    for (let i = 0; i < n; i++) {
      const id = this.byteIds[buf[i]];
      if (id >= 0) sym[m++] = id;
      else if (this.unkId >= 0 && (m === 0 || sym[m - 1] !== this.unkId)) sym[m++] = this.unkId;
    }
    return m > HEAP_THRESHOLD.bytes ? this.mergeHeap(sym, m) : this.mergeScan(sym, m);
  }

  // Character symbols, as HF's merge_word: a character missing from the vocab becomes its byte tokens
  // (byte_fallback, when all exist) or unk; a pending unk is emitted before the next known character.
  private encodeChars(piece: string): Int32Array {
    if (this.ignoreMerges) {
      const id = this.vocab.get(piece);
      if (id !== undefined) return Int32Array.of(id);
    }
    if (this.sym.length < 3 * piece.length) this.sym = new Int32Array(6 * piece.length);
    const sym = this.sym;
    let m = 0;
    let pendingUnk = false;
    for (const ch of piece) {
      const id = this.vocab.get(ch);
      if (id !== undefined) {
        if (pendingUnk) { sym[m++] = this.unkId; pendingUnk = false; }
        sym[m++] = id;
        continue;
      }
      if (this.byteFallback && this.pushByteTokens(ch, sym, m)) { m += utf8Length(ch); continue; }
      if (this.unkId >= 0) {
        if (pendingUnk && !this.fuseUnk) sym[m++] = this.unkId;
        pendingUnk = true;
      }
    }
    if (pendingUnk) sym[m++] = this.unkId;
    return m > HEAP_THRESHOLD.bytes ? this.mergeHeap(sym, m) : this.mergeScan(sym, m);
  }

  // Writes the <0xNN> ids of ch's UTF-8 bytes at sym[m...]; false (nothing kept) when one is missing.
  private pushByteTokens(ch: string, sym: Int32Array, m: number): boolean {
    const bytes = new TextEncoder().encode(ch);
    for (let i = 0; i < bytes.length; i++) {
      const id = this.byteTokenIds[bytes[i]];
      if (id < 0) return false;
      sym[m + i] = id;
    }
    return true;
  }

  // Short words: keep each adjacent pair's rank in pr[], merge the minimum, update its two neighbours.
  // sym (scratch) holds the symbols; the result is a fresh copy.
  private mergeScan(sym: Int32Array, n: number): Int32Array {
    if (this.pr.length < n) { this.pr = new Int32Array(2 * n); this.po = new Int32Array(2 * n); }
    const pr = this.pr, po = this.po;
    const look = (i: number) => {
      const s = this.slot(sym[i], sym[i + 1]);
      if (this.keyA[s] === EMPTY) { pr[i] = 0x7fffffff; } else { pr[i] = this.rank[s]; po[i] = this.out[s]; }
    };
    for (let i = 0; i < n - 1; i++) look(i);
    while (n > 1) {
      let best = 0x7fffffff, bi = -1;
      for (let i = 0; i < n - 1; i++) if (pr[i] < best) { best = pr[i]; bi = i; }
      if (bi < 0) break;
      sym[bi] = po[bi];
      // Remove symbol bi+1 and pair bi+1 (shift left), then refresh the pairs that touch the new symbol.
      sym.copyWithin(bi + 1, bi + 2, n);
      pr.copyWithin(bi + 1, bi + 2, n - 1);
      po.copyWithin(bi + 1, bi + 2, n - 1);
      n--;
      if (bi > 0) look(bi - 1);
      if (bi < n - 1) look(bi);
    }
    return sym.slice(0, n);
  }

  // Long words (runs of spaces, long identifiers): a binary heap of (rank, position) over a linked
  // list of symbols. Stale heap entries are skipped when the pair at their position has changed.
  private mergeHeap(sym: Int32Array, n: number): Int32Array {
    const next = new Int32Array(n), prev = new Int32Array(n);
    for (let i = 0; i < n; i++) { next[i] = i + 1 < n ? i + 1 : -1; prev[i] = i - 1; }
    const heap = new MinHeap();
    const POS = 2 ** 26;   // key = rank * 2^26 + position: rank first, then leftmost
    const push = (i: number) => {
      const j = next[i];
      if (j < 0) return;
      const r = this.pairRank(sym[i], sym[j]);
      if (r >= 0) heap.push(r * POS + i);
    };
    for (let i = 0; i < n - 1; i++) push(i);
    const alive = new Uint8Array(n).fill(1);
    while (heap.size > 0) {
      const key = heap.pop();
      const i = key % POS, r = (key - i) / POS;
      const j = next[i];
      if (!alive[i] || j < 0) continue;
      const s = this.slot(sym[i], sym[j]);
      if (this.keyA[s] === EMPTY || this.rank[s] !== r) continue;   // stale: the pair here changed
      sym[i] = this.out[s];
      alive[j] = 0;
      next[i] = next[j];
      if (next[j] >= 0) prev[next[j]] = i;
      if (prev[i] >= 0) push(prev[i]);
      push(i);
    }
    const res: number[] = [];
    for (let i = 0; i >= 0; i = next[i]) res.push(sym[i]);
    return Int32Array.from(res);
  }

  /** Empties the per-pre-token cache (benchmarks, tests of the merge loop). */
  clearCache(): void {
    this.cache.clear();
  }

  /** Bytes of a token id (undefined for ids the vocab does not use). */
  bytesOf(id: number): Uint8Array | undefined {
    return this.idToBytes[id];
  }
}

/** The vocab's name for a raw byte in SentencePiece-style BPE: '<0x0A>' (Rust's "<{b:#04X}>"). */
export function byteTokenName(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
}

function utf8Length(ch: string): number {
  const c = ch.codePointAt(0)!;
  return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

/** A binary min-heap of numbers. */
class MinHeap {
  private a: number[] = [];
  get size(): number { return this.a.length; }
  push(x: number): void {
    const a = this.a;
    let i = a.length;
    a.push(x);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= x) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = x;
  }
  pop(): number {
    const a = this.a;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const c = l + 1 < a.length && a[l + 1] < a[l] ? l + 1 : l;
        if (a[c] >= last) break;
        a[i] = a[c];
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

function sameText(key: string, text: string, start: number): boolean {
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) !== text.charCodeAt(start + i)) return false;
  return true;
}

/**
 * Pre-token -> ids, open addressing keyed by the text's hash, so a lookup can hash and compare a
 * range of the input without slicing it out. Emptied when full (bounded memory, adapts to new text).
 */
class PieceCache {
  readonly mask: number;
  keys: (string | undefined)[];
  readonly hashes: Int32Array;
  values: (Int32Array | undefined)[];
  count = 0;

  constructor(readonly capacity: number) {
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.mask = size - 1;
    this.keys = new Array(size).fill(undefined);
    this.values = new Array(size).fill(undefined);
    this.hashes = new Int32Array(size);
  }

  clear(): void {
    this.keys.fill(undefined);
    this.values.fill(undefined);
    this.count = 0;
  }
}
