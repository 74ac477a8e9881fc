// `gptune tokenizer train` speed: 10 MB of text to an 8192-entry byte-level BPE vocab, split into
// pre-tokenize+count and merges. Text is seeded pseudo-English (94k distinct pre-tokens in 10 MB, more
// than the 67k of real English text, so the merge stage is timed on the hard side), plus the file in
// BPE_TRAIN_CORPUS if set. With GPTUNE_HF_TOKENIZERS pointing at the npm
// `tokenizers` package, HF's trainer runs on the same file at its defaults (vocab 30000) as the peer.
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchContext, BenchRow } from './harness.js';
import { Rng } from '../src/util/rng.js';
import { WordCounter, bpeFromWordCounts, type TrainBpeOptions } from '../src/tokenizers/train_bpe.js';

const MB = 1e6;

/** About `bytes` of seeded pseudo-English: Zipf-distributed words built from English-like syllables, sentences, paragraphs. */
export function pseudoEnglish(bytes: number, seed = 1): string {
  const r = new Rng(seed);
  const onsets = ['', '', 'b', 'c', 'd', 'f', 'g', 'h', 'l', 'm', 'n', 'p', 'r', 's', 't', 'w', 'th', 'st', 'ch', 'sh', 'pr', 'tr', 'gr', 'str', 'wh', 'qu'];
  const nuclei = ['a', 'e', 'i', 'o', 'u', 'ea', 'ou', 'ai', 'ee', 'oo', 'y'];
  const codas = ['', '', '', 'n', 'r', 's', 't', 'd', 'l', 'ng', 'nd', 'st', 'ck', 'rt', 'ss', 'ght'];
  const suffixes = ['', '', '', '', 's', 'ed', 'ing', 'ly', 'er', 'tion', 'ness', 'ment', "'s"];
  const syllable = () => onsets[r.int(onsets.length)] + nuclei[r.int(nuclei.length)] + codas[r.int(codas.length)];
  // 30k stems; rank k is drawn with probability ~ 1/k (Zipf), via inverse CDF of a continuous 1/x.
  const lexicon = Array.from({ length: 30000 }, (_, k) => {
    const n = k < 100 ? 1 : 1 + r.int(k < 5000 ? 2 : 4);
    let w = '';
    for (let i = 0; i < n; i++) w += syllable();
    return w;
  });
  const zipf = () => Math.min(lexicon.length - 1, Math.floor(Math.exp(r.uniform() * Math.log(lexicon.length + 1))) - 1);
  const parts: string[] = [];
  let size = 0, sentence = 0;
  while (size < bytes) {
    const n = 4 + r.int(20);
    let s = '';
    for (let i = 0; i < n; i++) {
      let w = lexicon[zipf()];
      if (w.length > 3 && r.uniform() < 0.2) w += suffixes[r.int(suffixes.length)];
      if (i === 0 || r.uniform() < 0.04) w = w[0].toUpperCase() + w.slice(1);
      if (r.uniform() < 0.01) w = String(r.int(r.uniform() < 0.5 ? 100 : 3000));
      s += (i ? ' ' : '') + w + (i + 1 < n && r.uniform() < 0.07 ? (r.uniform() < 0.8 ? ',' : ';') : '');
    }
    s += r.uniform() < 0.9 ? '.' : r.uniform() < 0.5 ? '?' : '!';
    if (r.uniform() < 0.05) s = '"' + s + '"';
    s += ++sentence % (3 + r.int(6)) === 0 ? '\n\n' : ' ';
    parts.push(s);
    size += s.length;
  }
  return parts.join('');
}

/** Lines with their '\n', as the CLI's corpus reader yields a text file. */
function lines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

function timeTraining(texts: string[], opts: TrainBpeOptions) {
  const t0 = performance.now();
  const counter = new WordCounter();
  for (const t of texts) counter.add(t);
  const t1 = performance.now();
  const r = bpeFromWordCounts(counter.counts, opts);
  const t2 = performance.now();
  return { count: (t1 - t0) / 1000, merge: (t2 - t1) / 1000, total: (t2 - t0) / 1000, words: counter.counts.size, merges: r.merges.length };
}

export function run(ctx: BenchContext): BenchRow[] {
  const rows: BenchRow[] = [];
  const bytes = ctx.quick ? 1 * MB : 10 * MB;
  const vocabSize = ctx.quick ? 2048 : 8192;
  const corpora: [string, string][] = [['pseudo-English', pseudoEnglish(bytes)]];
  if (process.env.BPE_TRAIN_CORPUS) corpora.push([process.env.BPE_TRAIN_CORPUS, readFileSync(process.env.BPE_TRAIN_CORPUS, 'utf8')]);
  for (const [name, text] of corpora) {
    const size = Buffer.byteLength(text) / MB;
    const texts = lines(text);
    // The run is seconds long and single-shot by nature; the best of 2 (1 in quick mode) damps noise.
    let best = timeTraining(texts, { vocabSize });
    if (!ctx.quick) { const again = timeTraining(texts, { vocabSize }); if (again.total < best.total) best = again; }
    if (best.merges !== vocabSize - 257) ctx.notice(`tokenizer-train: ${name}: ${best.merges} merges, expected ${vocabSize - 257}`);
    rows.push({
      bench: 'bpe-train', case: `${name} ${size.toFixed(1)} MB -> vocab ${vocabSize}`, unit: 'MB/s', gptune: size / best.total,
      peer: null, peerName: 'none',
      note: `${best.total.toFixed(2)} s (count ${best.count.toFixed(2)} s, ${best.words} words; merges ${best.merge.toFixed(2)} s); no peer in this run`,
    });

    const hfPath = process.env.GPTUNE_HF_TOKENIZERS;
    if (hfPath) {
      // HF's node binding trains only with BpeTrainer's defaults: vocab 30000, no specials, seen bytes only.
      const hf = createRequire(import.meta.url)(hfPath);
      const dir = mkdtempSync(join(tmpdir(), 'gptune-bpe-bench-'));
      try {
        writeFileSync(join(dir, 'corpus.txt'), text);
        const t0 = performance.now();
        const tok = new hf.Tokenizer(hf.BPE.empty());
        tok.setPreTokenizer(hf.byteLevelPreTokenizer(false, true));
        tok.train([join(dir, 'corpus.txt')]);
        const hfSeconds = (performance.now() - t0) / 1000;
        const ours = timeTraining(texts, { vocabSize: 30000, specialTokens: [], initialAlphabet: 'seen' });
        rows.push({
          bench: 'bpe-train', case: `${name} ${size.toFixed(1)} MB -> vocab 30000`, unit: 'MB/s', gptune: size / ours.total,
          peer: size / hfSeconds, peerName: 'hf-tokenizers-node', note: `${ours.total.toFixed(2)} s vs ${hfSeconds.toFixed(2)} s`,
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  return rows;
}

// Also runnable on its own: node dist/bench/tokenizer_train.bench.js
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const ctx: BenchContext = { quick: process.env.BENCH_QUICK === '1', notice: (m) => console.error('notice: ' + m) };
  for (const r of run(ctx)) {
    console.log(`${r.bench} ${r.case}: ${r.gptune.toFixed(2)} ${r.unit}` + (r.peer !== null ? `, ${r.peerName} ${r.peer.toFixed(2)} ${r.unit} (ratio ${(r.gptune / r.peer).toFixed(2)}x)` : '') + (r.note ? `  ${r.note}` : ''));
  }
}
