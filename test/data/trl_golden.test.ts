// gptune's `data inspect` rows (runDataInspect, the library function behind `data inspect --json`) against
// rows the real TRL SFTTrainer prepared (test/fixtures/trl/sft_golden.jsonl, made by
// scripts/fixtures/make_trl_golden.py): equal token for token, except the differences DIFFERENCES lists,
// each checked to be exactly what its reason says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runDataInspect, type InspectedRow } from '../../src/run/data_inspect.js';
import { IGNORE_INDEX, alpacaPrompt } from '../../src/data/index.js';
import { builtinTokenizer, loadTokenizerDir, type LoadedTokenizer } from '../../src/tokenizers/load.js';
import { leadingSpecialIds } from '../../src/tokenizers/bos.js';
import { lenmlDir } from '../tokenizers/hf_reference.js';
import { tempDir } from '../helpers/temp_dir.js';

interface Row { input_ids: number[]; labels: number[]; position_ids?: number[] }
interface Case {
  case: string; tokenizer: string; format: string; rows: Record<string, unknown>[];
  trl: { max_length?: number; packing?: boolean };
  out?: Row[]; error?: string;
}
const CASES = readFileSync(join(process.cwd(), 'test', 'fixtures', 'trl', 'sft_golden.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Case);
const tmp = tempDir('trl-golden-');
const toks = new Map<string, LoadedTokenizer>();
const tokOf = (name: string) => {
  if (!toks.has(name)) toks.set(name, name === 'gpt2' ? builtinTokenizer('gpt2') : loadTokenizerDir(lenmlDir(name))!);
  return toks.get(name)!;
};
const find = (name: string, tok: string) => CASES.find((c) => c.case === name && c.tokenizer === tok)!;
const plain = (r: InspectedRow): Row => ({ input_ids: r.input_ids!, labels: r.labels!, ...(r.position_ids ? { position_ids: r.position_ids } : {}) });

/** gptune's rows for a case's rows, as `data inspect --json` prints them; truncation 'right' is TRL's keep_start. */
function ours(c: Case, truncation = 'right', maxLength = c.trl.max_length ?? 4096): InspectedRow[] {
  const data = join(tmp, `${c.case}-${c.tokenizer}.jsonl`);
  writeFileSync(data, c.rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const out: InspectedRow[] = [];
  runDataInspect({ tokenizer: c.tokenizer, data, format: c.format, maxLength, truncation, packing: c.trl.packing ?? false, json: true } as never,
    (r) => out.push(r), tokOf(c.tokenizer));
  return out;
}

/** A prompt/completion row's (prompt, completion) texts, Alpaca's prompt built as Alpaca builds it. */
function promptCompletion(c: Case, row: Record<string, unknown>): [string, string] {
  return c.format === 'alpaca' ? [alpacaPrompt(row.instruction as string, row.input as string), row.output as string] : [row.prompt as string, row.completion as string];
}

/**
 * Intended difference 1: TRL tokenizes prompt + completion as one text and masks the prompt's length; where the
 * prompt's own ids are not a prefix of those (a prompt ending in a space or newline that merges with the answer),
 * gptune keeps the prompt's ids as generate builds them and tokenizes the completion alone, so training sees the
 * sequence inference sees (TRL warns "Mismatch between tokenized prompt and the start of tokenized
 * prompt+completion" on these rows). Elsewhere the rows are equal.
 */
function checkPromptCompletion(c: Case, got: Row[], want: Row[]): void {
  const t = tokOf(c.tokenizer).tokenizer;
  const enc = (s: string) => (s === '' ? [] : t.encode(s, { addSpecialTokens: false }));
  const head = [...leadingSpecialIds(t)];
  assert.equal(got.length, want.length, `${c.case}/${c.tokenizer}: rows kept`);
  let k = 0;
  for (const [i, row] of c.rows.entries()) {
    const [prompt, completion] = promptCompletion(c, row);
    const p = enc(prompt), whole = enc(prompt + completion);
    const stable = p.every((id, j) => whole[j] === id);
    if (k >= got.length) break;
    if (stable) { assert.deepEqual(got[k], want[k], `${c.case}/${c.tokenizer} row ${i}: equal to TRL`); k++; continue; }
    const n = Math.min(got[k].input_ids.length, c.trl.max_length ?? Infinity);
    const ids = [...head, ...p, ...enc(completion), t.eosId!].slice(0, n);
    assert.deepEqual(got[k].input_ids, ids, `${c.case}/${c.tokenizer} row ${i}: the prompt's own ids, then the completion's`);
    assert.deepEqual(got[k].labels, ids.map((id, j) => (j < head.length + p.length ? IGNORE_INDEX : id)));
    assert.notDeepEqual(want[k].input_ids, got[k].input_ids, `${c.case}/${c.tokenizer} row ${i}: TRL merged across the boundary`);
    k++;
  }
}

/** Segments of packed rows (positions restart at 0), sorted: the same examples whatever the packing order. */
function segments(rows: Row[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    const starts = r.position_ids!.flatMap((p, i) => (p === 0 ? [i] : []));
    starts.forEach((a, k) => out.push(JSON.stringify([r.input_ids.slice(a, starts[k + 1]), r.labels.slice(a, starts[k + 1])])));
  }
  return out.sort();
}
const asSegment = (r: Row) => JSON.stringify([r.input_ids, [IGNORE_INDEX, ...r.labels.slice(1)]]);

const CHATML_TEMPLATE_TOKENIZERS = new Set(['gpt2', 'llama2']); // no template of their own: gptune's ChatML

const DIFFERENCES: Record<string, { reason: string; check: (c: Case) => void }> = {
  blank_completion: {
    reason: 'an empty completion has nothing to train but EOS: gptune refuses the row (file:line), TRL trains EOS alone',
    check: (c) => {
      assert.throws(() => ours(c), /empty completion: there is nothing to train on/);
      assert.deepEqual(c.out![0].labels.filter((l) => l !== IGNORE_INDEX), [tokOf(c.tokenizer).tokenizer.eosId]);
    },
  },
  sharegpt: {
    reason: 'TRL renames from/value to role/content but keeps the roles human/gpt, so no turn is an assistant\'s and it refuses ' +
      'assistant_only_loss; gptune maps human -> user, gpt -> assistant: its rows equal TRL\'s on the mapped rows (sharegpt_roles_mapped)',
    check: (c) => {
      assert.match(c.error!, c.tokenizer === 'qwen3' ? /not training-compatible/ : /no assistant tokens/);
      assert.deepEqual(ours(c).map(plain), ours(find('sharegpt_roles_mapped', c.tokenizer)).map(plain));
    },
  },
  packing: {
    reason: 'TRL packs best-fit-decreasing (longest first), gptune first-fit in file order (training shuffles first): ' +
      'the same examples, each with restarting positions and its first label ignored, in other packed rows',
    check: (c) => {
      const got = ours(c).map(plain), want = c.out!;
      for (const r of got) assert.ok(r.input_ids.length <= c.trl.max_length!);
      // gptune's segments are its own unpacked rows; TRL's are its unpacked rows (prompt_completion + the first long row).
      const unpacked = ours({ ...c, trl: { max_length: c.trl.max_length } }).map(plain);
      assert.deepEqual(segments(got), unpacked.map(asSegment).sort());
      const trlUnpacked = [...find('prompt_completion', c.tokenizer).out!, find('long_untruncated', c.tokenizer).out![0]];
      assert.deepEqual(segments(want), trlUnpacked.map(asSegment).sort());
    },
  },
};

test('TRL golden rows: prompt/completion, Alpaca and long rows (keep_start = --truncation right) equal TRL\'s, or differ only by difference 1', () => {
  for (const c of CASES.filter((x) => ['prompt_completion', 'alpaca', 'long_untruncated', 'long_max16', 'long_max32'].includes(x.case))) {
    checkPromptCompletion(c, ours(c).filter((r) => !r.dropped).map(plain), c.out!);
  }
});

test('TRL golden rows: each listed difference is exactly what its reason says', () => {
  for (const c of CASES) {
    const d = DIFFERENCES[c.case];
    if (d) d.check(c);
  }
});

test('TRL golden rows: chat (assistant-only) equals TRL on Llama 3.1\'s template and on ChatML, BOS aside', () => {
  for (const c of CASES.filter((x) => x.case === 'chat' || x.case === 'sharegpt_roles_mapped')) {
    if (c.tokenizer === 'qwen3') {
      // TRL 1.13 has no training version of this Qwen3 template and refuses it; gptune trains it (chat_spans_real.test.ts).
      assert.match(c.error!, /not training-compatible/);
      assert.ok(ours(c).every((r) => r.labels!.some((l) => l !== IGNORE_INDEX)));
      continue;
    }
    const got = ours(c).map(plain);
    const t = tokOf(c.tokenizer).tokenizer;
    // Difference 2: gptune applies the tokenizer's BOS rule to a rendered chat, as generate and serve do; TRL's
    // apply_chat_template adds only what the template writes (ChatML writes no BOS; Llama 3.1's writes it).
    const head = CHATML_TEMPLATE_TOKENIZERS.has(c.tokenizer) ? [...leadingSpecialIds(t)] : [];
    const want = c.out!.map((r) => ({ input_ids: [...head, ...r.input_ids], labels: [...head.map(() => IGNORE_INDEX), ...r.labels] }));
    assert.deepEqual(got, want, `${c.case}/${c.tokenizer}`);
  }
});

test('TRL golden rows: --truncation left (gptune\'s default) keeps BOS and the answer, cuts the prompt from the left', () => {
  // Difference 3: TRL's default keep_start cuts the answer's end; gptune's default keeps every answer whole.
  for (const c of CASES.filter((x) => x.case === 'long_max16' || x.case === 'long_max32')) {
    const n = c.trl.max_length!;
    const full = ours({ ...c, trl: {} }).map(plain);
    const head = leadingSpecialIds(tokOf(c.tokenizer).tokenizer).length;
    ours(c, 'left').forEach((r, i) => {
      const f = full[i];
      const start = f.labels.findIndex((l) => l !== IGNORE_INDEX);
      if (f.input_ids.length <= n) return assert.deepEqual(plain(r), f);
      if (f.input_ids.length - start + head + 1 > n) return assert.equal(r.dropped, 'prompt-would-vanish');
      const cut = (a: number[]) => [...a.slice(0, head), ...a.slice(head + f.input_ids.length - n)];
      assert.deepEqual(plain(r), { input_ids: cut(f.input_ids), labels: cut(f.labels) });
    });
  }
});
