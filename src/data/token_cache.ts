// Raw text is tokenized once into a uint32 token file in the cache folder (never beside the data,
// which is only read), so later runs (and corpora larger than memory) read tokens by position
// instead of re-tokenizing. A JSON sidecar records what the cache was built from; any change to the
// sources (size, mtime), the tokenizer or the format version rebuilds it.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { endianness } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { GptuneError, errorMessage } from '../util/errors.js';
import { writeAll, writeFileAtomic, writeFileAtomicSync } from '../util/fs_atomic.js';
import { forEachJsonlRow, firstChar, readJsonArray, type BadRow } from './jsonl.js';
import { cacheRoot, tokenCacheDir } from './cache_dir.js';
import { Utf8Check } from '../util/utf8.js';
import type { TextTokenizer } from './types.js';

/** Bump when the cache layout or document joining changes: old caches are then rebuilt. */
export const TOKEN_CACHE_VERSION = 1;

/** How text sources become documents: each .txt file is one; each JSONL row's "text" is one. */
export type TextFormat = 'text' | 'jsonl-text';

export interface SourceStamp {
  /** Relative to the data path (its basename when the data is one file). */
  path: string;
  size: number;
  mtimeMs: number;
}

/** The sidecar (<tokens>.json). */
export interface TokenCacheMeta {
  version: number;
  key: string;
  tokenizer: string;
  /** The data it was built from (absolute), for `gptune cache ls`. */
  dataPath: string;
  format: TextFormat;
  dtype: 'uint32le';
  tokens: number;
  documents: number;
  /** JSONL rows whose text was empty or blank (skipped). */
  emptyDocuments: number;
  skippedRows: number;
  eosId: number;
  sources: SourceStamp[];
}

export interface TokenCacheOptions {
  /** Overrides the tokenizer's fingerprint in the cache key (e.g. a hash of tokenizer.json). */
  tokenizerKey?: string;
  /** The cache root (token files go in <root>/tokens); default cacheRoot(): $GPTUNE_CACHE_DIR, else ~/.cache/gptune. */
  cacheDir?: string;
  skipBadRows?: boolean;
  /** Characters per tokenize call when a .txt file is streamed (tests lower it). */
  chunkChars?: number;
  log?: (line: string) => void;
}

export interface TokenCache {
  tokensPath: string;
  meta: TokenCacheMeta;
  /** True when this call tokenized the data (false: an up-to-date cache was reused). */
  built: boolean;
  /** Rows skipped as bad in this build (empty when reused: the count stays in meta). */
  badRows: BadRow[];
}

/**
 * The token cache of text data (a file or a folder's sorted sources), built if missing or stale.
 * Each document's tokens are followed by one EOS.
 */
export function ensureTokenCache(dataPath: string, sources: string[], format: TextFormat, tok: TextTokenizer,
  opts: TokenCacheOptions = {}): TokenCache {
  if (tok.eosId === null) {
    throw new GptuneError('the tokenizer has no EOS token, so documents cannot be separated in the token stream', { file: dataPath });
  }
  const tokenizer = opts.tokenizerKey ?? tok.fingerprint ?? probeFingerprint(tok);
  const key = sha256(`gptune-token-cache\0${TOKEN_CACHE_VERSION}\0${format}\0${tokenizer}`).slice(0, 16);
  const stamps = sources.map((f) => stamp(dataPath, f));
  const p = cachePath(dataPath, key, opts.cacheDir);

  const valid = readValidMeta(p, key, stamps);
  if (valid) {
    opts.log?.(`token cache: reusing ${p} (${valid.tokens} tokens, ${valid.documents} documents)`);
    return { tokensPath: p, meta: valid, built: false, badRows: [] };
  }
  try {
    mkdirSync(dirname(p), { recursive: true });
    const res = buildTokenCache(p, sources, format, tok, opts);
    const meta: TokenCacheMeta = {
      version: TOKEN_CACHE_VERSION, key, tokenizer, dataPath: resolve(dataPath), format, dtype: 'uint32le', tokens: res.tokens,
      documents: res.documents, emptyDocuments: res.emptyDocuments, skippedRows: res.bad.length, eosId: tok.eosId,
      sources: stamps,
    };
    writeFileAtomicSync(p + '.json', JSON.stringify(meta, null, 1) + '\n');
    opts.log?.(`token cache: wrote ${p} (${meta.tokens} tokens, ${meta.documents} documents)`);
    return { tokensPath: p, meta, built: true, badRows: res.bad };
  } catch (e) {
    if (e instanceof GptuneError) throw e; // a data error, not a location problem
    throw new GptuneError(`cannot write the token cache (${errorMessage(e)}); give a writable folder with --cache-dir or GPTUNE_CACHE_DIR`, { file: p });
  }
}

// <root>/tokens/<data name>-<hash of its absolute path>.<key>.tokens: two corpora with one basename
// do not collide, and a rebuilt cache replaces the old one of the same data and tokenizer.
function cachePath(dataPath: string, key: string, cacheDir: string | undefined): string {
  const abs = resolve(dataPath);
  return join(tokenCacheDir(cacheRoot(cacheDir)), `${basename(abs)}-${sha256(abs).slice(0, 8)}.${key}.tokens`);
}

function stamp(dataPath: string, file: string): SourceStamp {
  const st = statSync(file);
  const rel = resolve(dataPath) === resolve(file) ? basename(file) : relative(dataPath, file);
  return { path: rel, size: st.size, mtimeMs: st.mtimeMs };
}

function readValidMeta(tokensPath: string, key: string, stamps: SourceStamp[]): TokenCacheMeta | null {
  const metaPath = tokensPath + '.json';
  if (!existsSync(metaPath) || !existsSync(tokensPath)) return null;
  let meta: TokenCacheMeta;
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8')) as TokenCacheMeta;
  } catch {
    return null;
  }
  if (meta.version !== TOKEN_CACHE_VERSION || meta.key !== key || meta.dtype !== 'uint32le') return null;
  if (!Array.isArray(meta.sources) || meta.sources.length !== stamps.length) return null;
  for (let i = 0; i < stamps.length; i++) {
    const a = meta.sources[i], b = stamps[i];
    if (a.path !== b.path || a.size !== b.size || a.mtimeMs !== b.mtimeMs) return null;
  }
  if (statSync(tokensPath).size !== meta.tokens * 4) return null;
  return meta;
}

interface BuildResult { tokens: number; documents: number; emptyDocuments: number; bad: BadRow[] }

// Streams documents through the tokenizer into a temp file, renamed into place when complete.
// Only one document's ids (or one chunk of a large file's) are held in memory at a time.
function buildTokenCache(tokensPath: string, sources: string[], format: TextFormat, tok: TextTokenizer,
  opts: TokenCacheOptions): BuildResult {
  if (endianness() !== 'LE') throw new Error('token caches are little-endian; this machine is big-endian');
  rmSync(tokensPath + '.json', { force: true }); // a crash mid-build then leaves no sidecar: rebuilt next time
  const eos = tok.eosId!;
  const res: BuildResult = { tokens: 0, documents: 0, emptyDocuments: 0, bad: [] };
  writeFileAtomic(tokensPath, (fd) => {
    const out = new TokenWriter(fd);
    const encode = (text: string) => out.push(tok.encode(text, { addSpecialTokens: false }));
    for (const file of sources) {
      if (format === 'text') {
        if (!forEachTextChunk(file, encode, opts.chunkChars ?? (4 << 20))) {
          throw new GptuneError('no text: the file is empty or blank', { file });
        }
        out.push([eos]);
        res.documents++;
        continue;
      }
      let rows = 0;
      const onRow = (value: unknown, line: number) => {
        rows++;
        const text = (value !== null && typeof value === 'object' && !Array.isArray(value)) ? (value as Record<string, unknown>).text : undefined;
        if (typeof text !== 'string') {
          const message = text === undefined ? 'the row has no "text" field' : `"text" must be a string, got ${typeof text}`;
          if (opts.skipBadRows) { res.bad.push({ file, line, message }); return; }
          throw new GptuneError(message, { file, line });
        }
        if (text.trim() === '') { res.emptyDocuments++; return; }
        encode(text);
        out.push([eos]);
        res.documents++;
      };
      if (firstChar(file) === '[') for (const r of readJsonArray(file)) onRow(r.value, r.line);
      else forEachJsonlRow(file, (r) => onRow(r.value, r.line), { skipBadRows: opts.skipBadRows, bad: res.bad });
      if (rows === 0) throw new GptuneError('no rows: the file is empty or blank', { file });
    }
    out.flush();
    res.tokens = out.count;
  });
  if (res.tokens === 0) {
    rmSync(tokensPath, { force: true });
    throw new GptuneError('no text: every row is empty or was skipped', { file: sources[0] });
  }
  return res;
}

/** Buffers ids and writes them as uint32 little-endian in large chunks. */
class TokenWriter {
  private readonly buf = new Uint32Array(1 << 18); // (256K,) pending ids
  private n = 0;
  count = 0;
  constructor(private readonly fd: number) {}
  push(ids: readonly number[]): void {
    for (const id of ids) {
      if (this.n === this.buf.length) this.flush();
      this.buf[this.n++] = id;
    }
    this.count += ids.length;
  }
  flush(): void {
    writeAll(this.fd, new Uint8Array(this.buf.buffer, 0, this.n * 4));
    this.n = 0;
  }
}

/**
 * Calls fn with a .txt file's text, in pieces of about chunkChars when the file is large. Pieces end
 * after a newline that is preceded and followed by non-space characters: byte-level BPE
 * pre-tokenizers (GPT-2, Llama 3, Qwen2 patterns) never join tokens across such a point, so the ids
 * equal those of the whole file. Returns false when the file holds only whitespace.
 */
export function forEachTextChunk(file: string, fn: (text: string) => void, chunkChars: number): boolean {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.max(4096, Math.min(chunkChars * 2, 16 << 20)));
    const dec = new StringDecoder('utf8');
    const utf8 = new Utf8Check(file);
    let pending = '', any = false, first = true;
    const emit = (s: string) => {
      if (s.length === 0) return;
      if (!any && s.trim() !== '') any = true;
      fn(s);
    };
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      utf8.push(buf.subarray(0, n));
      pending += dec.write(buf.subarray(0, n));
      if (first && pending.length > 0) { first = false; if (pending.charCodeAt(0) === 0xfeff) pending = pending.slice(1); }
      while (pending.length > chunkChars) {
        const cut = safeCut(pending, chunkChars);
        if (cut < 0) break; // no safe point yet: read more
        emit(pending.slice(0, cut));
        pending = pending.slice(cut);
      }
    }
    utf8.end();
    pending += dec.end();
    if (first && pending.charCodeAt(0) === 0xfeff) pending = pending.slice(1);
    // A whitespace-only file is blank; whitespace-only tails of real text still count as text.
    if (!any && pending.trim() === '') return false;
    emit(pending);
    return true;
  } finally {
    closeSync(fd);
  }
}

// The first index >= from where text[i-1] is '\n' between two non-space characters, or -1.
function safeCut(text: string, from: number): number {
  for (let i = Math.max(2, from); i < text.length; i++) {
    if (text.charCodeAt(i - 1) === 10 && !isSpace(text.charCodeAt(i)) && !isSpace(text.charCodeAt(i - 2))) return i;
  }
  return -1;
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x85 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** Tokens of the cache file read by position: a corpus larger than memory is never loaded whole. */
export class TokenFile {
  private fd: number;
  constructor(readonly path: string, readonly tokens: number) {
    this.fd = openSync(path, 'r');
  }
  /** ids [start, start+count) -> (count,) */
  read(start: number, count: number, out: Int32Array = new Int32Array(count)): Int32Array {
    if (start < 0 || count < 0 || start + count > this.tokens) {
      throw new RangeError(`TokenFile.read: [${start}, ${start + count}) is outside the ${this.tokens} tokens of ${this.path}`);
    }
    if (this.fd < 0) throw new Error(`TokenFile.read: ${this.path} was closed`);
    const bytes = new Uint8Array(out.buffer, out.byteOffset, count * 4);
    for (let done = 0; done < bytes.length;) {
      const n = readSync(this.fd, bytes, done, bytes.length - done, start * 4 + done);
      if (n === 0) throw new GptuneError('the token cache is shorter than its sidecar says; delete it to rebuild', { file: this.path });
      done += n;
    }
    return out; // uint32 ids < 2^31 read as int32 unchanged (little-endian host checked when built)
  }
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

// Without a declared fingerprint: the vocabulary size, special ids and the ids of a probe text
// that exercises spaces, digits, punctuation and non-Latin scripts.
function probeFingerprint(tok: TextTokenizer): string {
  const probe = "Hello, world! It's 2024: ids 12345 & tabs\t\tand\n\nnewlines. Ünïcödé — 日本語 😀 ";
  return sha256(JSON.stringify([tok.vocabSize, tok.bosId, tok.eosId, tok.padId, tok.encode(probe, { addSpecialTokens: false })]));
}
