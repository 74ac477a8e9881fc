// gptune data inspect through the CLI: the rows training would see (same encoding as loadTaskData),
// BOS from the tokenizer's rule, truncation and drops reported per row, packing with position_ids.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IGNORE_INDEX, loadTaskData } from '../../src/data/index.js';
import { builtinTokenizer, loadTokenizerDir } from '../../src/tokenizers/load.js';
import { taskEncoding } from '../../src/run/model.js';
import { fixturePath } from '../helpers/fixtures.js';
import { lenmlDir } from '../tokenizers/hf_reference.js';
import { tempDir } from '../helpers/temp_dir.js';

const BIN = join(fixturePath(), '..', '..', 'bin', 'gptune.js');
const SUPPORT = join(process.cwd(), 'data', 'support', 'train.jsonl');
const GPT2_EOS = 50256;
const GPT2 = builtinTokenizer('gpt2').tokenizer;
const tmp = tempDir('inspect-');

function gptune(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, GPTUNE_VERBOSE: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const lines = (out: string) => out.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, any>);

test('data inspect --json: Llama 3.1 rows as training encodes them, BOS first, -100 on the prompt', () => {
  const dir = lenmlDir('llama3_1');
  const r = gptune('data', 'inspect', '--tokenizer', dir, '--data', SUPPORT, '--json', '--limit', '3', '--max-length', '64');
  assert.equal(r.code, 0, r.err);
  const rows = lines(r.out);
  assert.equal(rows.length, 3);
  const tok = loadTokenizerDir(dir)!;
  const train = loadTaskData(SUPPORT, tok.tokenizer, { maxLength: 64, ...taskEncoding(tok) }).train;
  rows.forEach((row, i) => {
    assert.equal(row.row, i);
    assert.equal(row.line, i + 1);
    assert.equal(row.input_ids[0], tok.tokenizer.tokenToId('<|begin_of_text|>'));
    assert.deepEqual(row.input_ids, Array.from(train.get(i).inputIds));
    assert.deepEqual(row.labels, Array.from(train.get(i).labels));
    assert.equal(row.labels[0], IGNORE_INDEX);
  });
});

test('data inspect reports truncation and drops per row and in the counts (support data, GPT-2, --max-length 24)', () => {
  // The support rows as chat: with ChatML's markup some answers alone fill 24 tokens.
  const chat = join(tmp, 'chat.jsonl');
  writeFileSync(chat, readFileSync(SUPPORT, 'utf8').trimEnd().split('\n').slice(0, 40).map((l) => {
    const r = JSON.parse(l) as { prompt: string; completion: string };
    return JSON.stringify({ messages: [{ role: 'user', content: r.prompt }, { role: 'assistant', content: r.completion.trim() }] });
  }).join('\n') + '\n');
  const left = gptune('data', 'inspect', '--tokenizer', 'gpt2', '--data', chat, '--json', '--max-length', '24');
  assert.equal(left.code, 0, left.err);
  const rows = lines(left.out);
  assert.equal(rows.length, 40);
  const dropped = rows.filter((r) => r.dropped);
  assert.ok(dropped.length > 0 && dropped.every((r) => r.dropped === 'prompt-would-vanish' && r.tokens > 24 && !r.input_ids));
  const kept = rows.filter((x) => !x.dropped);
  assert.ok(kept.length > 0);
  for (const r of kept) {
    assert.ok(r.input_ids.length <= 24);
    assert.equal(r.truncated.policy, 'left');
    // ChatML on GPT-2 trains exactly the rendered text: the reply through <|im_end|> (several tokens here), no EOS added.
    const trained = r.labels.filter((l: number) => l !== IGNORE_INDEX);
    assert.ok(GPT2.decode(trained).endsWith('<|im_end|>'), 'left keeps every answer whole, through its <|im_end|>');
    assert.ok(!trained.includes(GPT2_EOS));
    assert.equal(r.labels[0], IGNORE_INDEX, 'some prompt is left');
  }
  assert.match(left.err, new RegExp(`^40 rows at --max-length 24: ${kept.length} kept, ${kept.length} truncated, ${dropped.length} dropped \\(${dropped.length} prompt would vanish\\)`));

  const right = gptune('data', 'inspect', '--tokenizer', 'gpt2', '--data', SUPPORT, '--json', '--max-length', '24', '--truncation', 'right');
  assert.equal(right.code, 0, right.err);
  const cut = lines(right.out).filter((r) => r.truncated?.answer_cut);
  assert.ok(cut.length > 0);
  for (const r of cut) {
    assert.equal(r.truncated.policy, 'right');
    assert.ok(!r.labels.includes(GPT2_EOS), `row ${r.row}: no EOS label after a cut answer`);
  }
  assert.match(right.err, / \d+ truncated \(\d+ answers cut, no EOS trained\)/);
});

test('data inspect --packing: packed rows with restarting position_ids, each example\'s first label ignored', () => {
  const r = gptune('data', 'inspect', '--tokenizer', 'gpt2', '--data', SUPPORT, '--json', '--packing', '--max-length', '128', '--limit', '2');
  assert.equal(r.code, 0, r.err);
  const packs = lines(r.out);
  assert.equal(packs.length, 2);
  for (const p of packs) {
    assert.ok(p.rows.length > 1 && p.input_ids.length <= 128);
    assert.equal(p.position_ids.length, p.input_ids.length);
    const starts = p.position_ids.flatMap((x: number, i: number) => (x === 0 ? [i] : []));
    assert.equal(starts.length, p.rows.length);
    for (const s of starts) assert.equal(p.labels[s], IGNORE_INDEX);
  }
  assert.match(r.err, /packed rows/);
});

test('data inspect without --json marks trained tokens; without a tokenizer it says what to give', () => {
  const r = gptune('data', 'inspect', '--tokenizer', 'gpt2', '--data', SUPPORT, '--limit', '1', '--max-length', '20', '--truncation', 'right');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^row 0 \(line 1\): 20 tokens, \d+ trained, truncated right: \d+ tokens cut, the answer's end \(no EOS trained\)\n {2}"Customer: How much is the monthly subscription\? Thank you!\\nAgent:\[\[ Lumen/);
  assert.doesNotMatch(r.out, /<\|endoftext\|>/);
  const bad = gptune('data', 'inspect', '--data', SUPPORT);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /give --model or --tokenizer/);
});
