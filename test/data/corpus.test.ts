// Causal-LM corpora: the token cache (built once, reused, rebuilt when stale, written atomically),
// blocks and the validation split, {"input_ids"} rows, and the errors that name file:line.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { cacheRoot, clearTokenCaches, forEachTextChunk, listTokenCaches, loadCorpus, listSources, valCount, type Corpus } from '../../src/data/index.js';
import { ByteTokenizer, bytesOf } from '../helpers/byte_tokenizer.js';
import { fixturePath } from '../helpers/fixtures.js';
import { throwsAt } from '../helpers/errors.js';
import { tempDir } from '../helpers/temp_dir.js';

const root = tempDir('corpus-');
// Token caches go to the cache folder, never beside the data; keep this file's out of ~/.cache.
const CACHE = join(root, 'cache');
process.env.GPTUNE_CACHE_DIR = CACHE;
let dirs = 0;
/** A private copy of test/fixtures/data. */
function copyFixtures(): string {
  const d = join(root, `case${dirs++}`);
  cpSync(fixturePath('data'), d, { recursive: true });
  return d;
}
const EOS = new ByteTokenizer().eosId!;

/** Every token of a corpus: its blocks (train then val) concatenated. */
function allBlockIds(c: Corpus): number[] {
  const out: number[] = [];
  for (const ds of [c.train, c.val]) if (ds) for (let i = 0; i < ds.size; i++) out.push(...ds.get(i).inputIds);
  return out;
}

test('a .txt file becomes one document + EOS, cut into seqLen blocks with labels = inputs', () => {
  const d = copyFixtures();
  const tok = new ByteTokenizer();
  const text = readFileSync(join(d, 'corpus.txt'), 'utf8');
  const stream = [...bytesOf(text), EOS];
  const c = loadCorpus(join(d, 'corpus.txt'), tok, { seqLen: 16 });
  try {
    const blocks = Math.floor(stream.length / 16);
    assert.equal(c.summary.format, 'text');
    assert.equal(c.summary.tokens, stream.length);
    assert.equal(c.summary.documents, 1);
    assert.equal(c.train.size, blocks);
    assert.equal(c.val, null);
    assert.equal(c.summary.droppedTokens, stream.length - blocks * 16);
    assert.deepEqual(allBlockIds(c), stream.slice(0, blocks * 16)); // the final partial block is dropped
    const b3 = c.train.get(3);
    assert.deepEqual([...b3.labels], [...b3.inputIds]);
    assert.equal(c.train.length(0), 16);
  } finally {
    c.close();
  }
});

test('the token cache is built once, reused, and rebuilt when a source or the tokenizer changes', () => {
  const d = copyFixtures();
  const file = join(d, 'corpus.txt');
  const tok = new ByteTokenizer();
  const c1 = loadCorpus(file, tok, { seqLen: 8 });
  c1.close();
  assert.equal(c1.summary.cacheBuilt, true);
  const cachePath = c1.summary.cachePath!;
  assert.ok(cachePath.startsWith(join(CACHE, 'tokens', 'corpus.txt-')) && cachePath.endsWith('.tokens'), cachePath);
  assert.equal(statSync(cachePath).size, c1.summary.tokens * 4);
  const meta = JSON.parse(readFileSync(cachePath + '.json', 'utf8'));
  assert.equal(meta.tokens, c1.summary.tokens);
  assert.equal(meta.documents, 1);
  assert.deepEqual(meta.sources.map((s: { path: string }) => s.path), ['corpus.txt']);
  // The data folder is only read; in the cache, the tokens and the sidecar and no temp files.
  assert.deepEqual(readdirSync(d).sort(), readdirSync(fixturePath('data')).sort());
  assert.deepEqual(readdirSync(join(CACHE, 'tokens')).filter((f) => f.includes('.tmp')), []);

  const calls = tok.encodeCalls;
  const c2 = loadCorpus(file, tok, { seqLen: 8 });
  assert.equal(c2.summary.cacheBuilt, false);
  assert.equal(tok.encodeCalls, calls, 'a reused cache tokenizes nothing');
  assert.deepEqual(allBlockIds(c2).slice(0, 8), bytesOf(readFileSync(file, 'utf8').slice(0, 8)));
  c2.close();

  // The source changes: rebuilt with the new text.
  writeFileSync(file, 'A changed corpus, long enough for a few blocks of eight.\n');
  const c3 = loadCorpus(file, tok, { seqLen: 8 });
  assert.equal(c3.summary.cacheBuilt, true);
  assert.deepEqual(allBlockIds(c3).slice(0, 8), bytesOf('A change'));
  c3.close();
  // Same size, new mtime: still rebuilt.
  const t = new Date(Date.now() + 5000);
  utimesSync(file, t, t);
  const c4 = loadCorpus(file, tok, { seqLen: 8 });
  c4.close();
  assert.equal(c4.summary.cacheBuilt, true);

  // Another tokenizer identity: another cache file beside the first.
  const other = new ByteTokenizer({ fingerprint: 'another-vocab' });
  const c5 = loadCorpus(file, other, { seqLen: 8 });
  c5.close();
  assert.equal(c5.summary.cacheBuilt, true);
  assert.notEqual(c5.summary.cachePath, c4.summary.cachePath);
});

test('a damaged cache (token file cut short, sidecar lost) is rebuilt, never trusted', () => {
  const d = copyFixtures();
  const file = join(d, 'corpus.txt');
  const tok = new ByteTokenizer();
  const c1 = loadCorpus(file, tok, { seqLen: 8 });
  c1.close();
  const p = c1.summary.cachePath!;
  truncateSync(p, 12);
  const c2 = loadCorpus(file, tok, { seqLen: 8 });
  c2.close();
  assert.equal(c2.summary.cacheBuilt, true);
  assert.equal(statSync(p).size, c1.summary.tokens * 4);
  rmSync(p + '.json');
  const c3 = loadCorpus(file, tok, { seqLen: 8 });
  c3.close();
  assert.equal(c3.summary.cacheBuilt, true);
  assert.ok(existsSync(p + '.json'));
});

test('the cache folder: cacheDir, else GPTUNE_CACHE_DIR, else XDG_CACHE_HOME/gptune, else ~/.cache/gptune; unwritable is named', () => {
  assert.equal(cacheRoot('x', {}), resolve('x'));
  assert.equal(cacheRoot(undefined, { GPTUNE_CACHE_DIR: '/a', XDG_CACHE_HOME: '/b' }), '/a');
  assert.equal(cacheRoot(undefined, { XDG_CACHE_HOME: '/b' }), join('/b', 'gptune'));
  assert.equal(cacheRoot(undefined, {}), join(homedir(), '.cache', 'gptune'));
  const d = copyFixtures();
  const file = join(d, 'corpus.txt');
  const tok = new ByteTokenizer();
  const cacheDir = join(d, 'my-cache');
  const c = loadCorpus(file, tok, { seqLen: 8, cacheDir });
  c.close();
  assert.ok(c.summary.cachePath!.startsWith(join(cacheDir, 'tokens')), c.summary.cachePath!);
  const again = loadCorpus(file, tok, { seqLen: 8, cacheDir });
  again.close();
  assert.equal(again.summary.cacheBuilt, false);
  assert.deepEqual(listTokenCaches(cacheDir).map((e) => [e.data, e.tokens]), [[file, c.summary.tokens]]);
  // A cache folder that cannot be written (a file in the way; chmod does not stop root) is named, with the fix.
  writeFileSync(join(d, 'blocked'), 'a file');
  assert.throws(() => loadCorpus(file, tok, { seqLen: 8, cacheDir: join(d, 'blocked') }),
    (e: Error) => e.message.includes(join(d, 'blocked', 'tokens')) && /--cache-dir or GPTUNE_CACHE_DIR/.test(e.message));
  assert.deepEqual(clearTokenCaches(cacheDir).files, 2);
  assert.deepEqual(listTokenCaches(cacheDir), []);
});

test('a folder: its .txt files recursively, sorted by path, each a document', () => {
  const d = copyFixtures();
  const dir = join(d, 'corpus_dir');
  assert.deepEqual(listSources(dir).map((f) => f.slice(dir.length + 1)), ['a.txt', 'c.txt', join('sub', 'b.txt')]);
  const tok = new ByteTokenizer();
  const c = loadCorpus(dir, tok, { seqLen: 4 });
  after(() => c.close());
  const expected = ['a.txt', 'c.txt', 'sub/b.txt'].flatMap((f) => [...bytesOf(readFileSync(join(dir, f), 'utf8')), EOS]);
  assert.equal(c.summary.documents, 3);
  assert.equal(c.summary.tokens, expected.length);
  assert.deepEqual(allBlockIds(c), expected.slice(0, Math.floor(expected.length / 4) * 4));
  assert.ok(c.summary.cachePath!.startsWith(join(CACHE, 'tokens', 'corpus_dir-')), 'the cache of a folder is in the cache folder');
  assert.deepEqual(readdirSync(d).filter((f) => f.includes('.tokens')), [], 'nothing written beside the data');
  // Hidden files (temp files) and token caches inside the folder are not data.
  writeFileSync(join(dir, '.a.txt.tmp-1-x'), 'partial');
  writeFileSync(join(dir, 'c.txt.0123.tokens'), 'x');
  writeFileSync(join(dir, 'c.txt.0123.tokens.json'), '{}');
  mkdirSync(join(dir, '.git'));
  writeFileSync(join(dir, '.git', 'x.txt'), 'x');
  assert.equal(listSources(dir).length, 3);
});

test('JSONL {"text"} rows: one document each; empty texts are skipped and counted', () => {
  const d = copyFixtures();
  const c = loadCorpus(join(d, 'text.jsonl'), new ByteTokenizer(), { seqLen: 4 });
  after(() => c.close());
  const expected = ['first document', 'second document, a little longer', 'third'].flatMap((s) => [...bytesOf(s), EOS]);
  assert.equal(c.summary.format, 'jsonl-text');
  assert.equal(c.summary.documents, 3);
  assert.equal(c.summary.emptyRows, 1);
  assert.equal(c.summary.tokens, expected.length);
  assert.deepEqual(allBlockIds(c), expected.slice(0, Math.floor(expected.length / 4) * 4));
});

test('--format overrides detection', () => {
  const d = copyFixtures();
  // The JSONL read as plain text: one document holding the raw lines.
  const c = loadCorpus(join(d, 'text.jsonl'), new ByteTokenizer(), { seqLen: 4, format: 'text' });
  c.close();
  assert.equal(c.summary.format, 'text');
  assert.equal(c.summary.tokens, statSync(join(d, 'text.jsonl')).size + 1);
});

test('a large .txt is tokenized in chunks that cut only where ids cannot change', () => {
  const d = copyFixtures();
  const file = join(d, 'big.txt');
  const lines = Array.from({ length: 300 }, (_, i) => (i % 7 === 0 ? `  indented ${i}\n\n` : `line ${i} héllo wörld\n`));
  writeFileSync(file, lines.join(''));
  const pieces: string[] = [];
  assert.equal(forEachTextChunk(file, (s) => pieces.push(s), 200), true);
  assert.ok(pieces.length > 10, `${pieces.length} pieces`);
  assert.equal(pieces.join(''), lines.join(''));
  for (const p of pieces.slice(0, -1)) {
    assert.match(p, /\S\n$/, 'a piece ends with a newline after a non-space');
  }
  for (const p of pieces.slice(1)) assert.match(p, /^\S/, 'and the next starts with a non-space');
  // The cache built in chunks holds the same ids as the whole file tokenized at once.
  const c = loadCorpus(file, new ByteTokenizer(), { seqLen: 8, chunkChars: 200 });
  c.close();
  assert.equal(c.summary.tokens, Buffer.byteLength(lines.join('')) + 1);
  assert.equal(forEachTextChunk(join(d, 'bad', 'blank.txt'), () => {}, 200), false);
});

test('valFraction takes the last blocks; at least one when there are two or more', () => {
  assert.equal(valCount(10, 0), 0);
  assert.equal(valCount(10, 0.25), 2);
  assert.equal(valCount(10, 0.01), 1);
  assert.equal(valCount(2, 0.01), 1);
  assert.equal(valCount(1, 0.5), 0);
  assert.equal(valCount(3, 0.99), 2, 'one training block always remains');
  assert.throws(() => valCount(10, 1), /valFraction must be in \[0, 1\)/);

  const d = copyFixtures();
  const tok = new ByteTokenizer();
  const full = loadCorpus(join(d, 'corpus.txt'), tok, { seqLen: 8 });
  const split = loadCorpus(join(d, 'corpus.txt'), tok, { seqLen: 8, valFraction: 0.1 });
  try {
    const n = full.train.size;
    const nVal = Math.max(1, Math.floor(n * 0.1));
    assert.equal(split.train.size, n - nVal);
    assert.equal(split.val!.size, nVal);
    assert.equal(split.summary.val, nVal);
    assert.deepEqual([...split.val!.get(nVal - 1).inputIds], [...full.train.get(n - 1).inputIds]);
    assert.deepEqual([...split.train.get(0).inputIds], [...full.train.get(0).inputIds]);
  } finally {
    full.close();
    split.close();
  }
});

test('a separate valData corpus', () => {
  const d = copyFixtures();
  const c = loadCorpus(join(d, 'corpus.txt'), new ByteTokenizer(), { seqLen: 4, valData: join(d, 'corpus_dir') });
  try {
    assert.equal(c.val!.size, c.summary.val);
    assert.deepEqual([...c.val!.get(0).inputIds], bytesOf('Firs'));
    assert.throws(() => loadCorpus(join(d, 'corpus.txt'), new ByteTokenizer(), { seqLen: 4, valData: join(d, 'corpus_dir'), valFraction: 0.1 }),
      /either valData or valFraction/);
  } finally {
    c.close();
  }
});

test('{"input_ids"} rows: one sequence each, longer rows truncated and counted, labels = inputs', () => {
  const d = copyFixtures();
  const c = loadCorpus(join(d, 'ids.jsonl'), new ByteTokenizer(), { seqLen: 8 });
  assert.equal(c.summary.format, 'jsonl-ids');
  assert.equal(c.train.size, 3);
  assert.equal(c.summary.truncatedRows, 1);
  assert.deepEqual([...c.train.get(0).inputIds], [1, 2, 3, 4, 5]);
  assert.deepEqual([...c.train.get(1).inputIds], [10, 11, 12, 13, 14, 15, 16, 17]);
  assert.deepEqual([...c.train.get(1).labels], [10, 11, 12, 13, 14, 15, 16, 17]);
  assert.equal(c.train.length(2), 2);
  assert.equal(c.summary.cachePath, null);
  const v = loadCorpus(join(d, 'ids.jsonl'), new ByteTokenizer(), { seqLen: 8, valFraction: 0.3 });
  assert.equal(v.train.size, 2);
  assert.deepEqual([...v.val!.get(0).inputIds], [7, 8]);
});


test('errors name the file and line', () => {
  const d = copyFixtures();
  const bad = (f: string) => join(d, 'bad', f);
  const tok = new ByteTokenizer();
  throwsAt(() => loadCorpus(bad('empty.txt'), tok, { seqLen: 4 }), bad('empty.txt'), undefined, /empty or blank/);
  throwsAt(() => loadCorpus(bad('blank.txt'), tok, { seqLen: 4 }), bad('blank.txt'), undefined, /empty or blank/);
  throwsAt(() => loadCorpus(bad('malformed.jsonl'), tok, { seqLen: 4 }), bad('malformed.jsonl'), 2, /malformed JSON/);
  throwsAt(() => loadCorpus(bad('text_missing.jsonl'), tok, { seqLen: 4 }), bad('text_missing.jsonl'), 2, /no "text" field/);
  throwsAt(() => loadCorpus(bad('ids_out_of_vocab.jsonl'), tok, { seqLen: 4 }), bad('ids_out_of_vocab.jsonl'), 2,
    /input_ids\[1\] = 99999 is not a token id in \[0, 265\)/);
  throwsAt(() => loadCorpus(bad('ids_missing.jsonl'), tok, { seqLen: 4 }), bad('ids_missing.jsonl'), 2, /no "input_ids" field/);
  throwsAt(() => loadCorpus(bad('unknown_keys.jsonl'), tok, { seqLen: 4 }), bad('unknown_keys.jsonl'), 1, /neither "text" nor "input_ids".*foo/);
  throwsAt(() => loadCorpus(join(d, 'corpus.txt'), tok, { seqLen: 4096 }), join(d, 'corpus.txt'), undefined, /fewer than one block of seqLen 4096/);
  throwsAt(() => loadCorpus(join(d, 'missing.txt'), tok, { seqLen: 4 }), join(d, 'missing.txt'), undefined, /no such file/);
  throwsAt(() => loadCorpus(join(d, 'corpus.txt'), new ByteTokenizer({ eos: null }), { seqLen: 4 }), join(d, 'corpus.txt'), undefined, /no EOS/);
  // A failed build leaves no cache and no temp file behind.
  assert.deepEqual(readdirSync(join(d, 'bad')).filter((f) => f.includes('.tokens')), []);
});

test('skipBadRows skips and counts malformed and incomplete rows', () => {
  const d = copyFixtures();
  const tok = new ByteTokenizer();
  const c = loadCorpus(join(d, 'bad', 'malformed.jsonl'), tok, { seqLen: 2, skipBadRows: true });
  c.close();
  assert.equal(c.summary.documents, 2);
  assert.equal(c.summary.skippedRows, 1);
  assert.equal(c.summary.badRows[0].line, 2);
  const ids = loadCorpus(join(d, 'bad', 'ids_out_of_vocab.jsonl'), tok, { seqLen: 4, skipBadRows: true });
  assert.equal(ids.train.size, 1);
  assert.equal(ids.summary.skippedRows, 1);
  assert.match(ids.summary.badRows[0].message, /99999/);
});
