// The committed support-desk dataset: it is what the generator writes, its test split never leaks
// into train, every test fact is taught by train, and its prompts split cleanly into GPT-2 tokens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { getEncoding } from 'js-tiktoken';
import { containsAnswer, normalizeAnswer } from '../../src/eval/metrics.js';
import {
  APP, LAMP, SUPPORT_FACTS, TEST_WRAPPERS, TRAIN_WRAPPERS, generateSupportData, supportDataDir, supportFiles,
  type TestRow, type TrainRow,
} from '../../scripts/data/make_support_data.js';

const data = generateSupportData();
const dir = supportDataDir();
const readJsonl = <T>(name: string): T[] => readFileSync(join(dir, name), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as T);
const question = (prompt: string) => prompt.replace(/^Customer: /, '').replace(/\nAgent:$/, '');

// A template as a regex: {lamp}/{app}/[a|b] become their alternatives, {q}/{Q} any text.
function templateRegex(template: string, anchored: boolean): RegExp {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const src = template.split(/(\{lamp\}|\{app\}|\{q\}|\{Q\}|\[[^\]]*\])/).map((piece) => {
    if (piece === '{lamp}') return `(?:${LAMP.map(esc).join('|')})`;
    if (piece === '{app}') return `(?:${APP.map(esc).join('|')})`;
    if (piece === '{q}' || piece === '{Q}') return '.+';
    if (piece.startsWith('[')) return `(?:${piece.slice(1, -1).split('|').map(esc).join('|')})`;
    return esc(piece);
  }).join('');
  return new RegExp(anchored ? `^${src}$` : src, 'i');
}

test('the committed files are exactly what the generator writes', () => {
  for (const [name, text] of Object.entries(supportFiles(data))) {
    assert.equal(readFileSync(join(dir, name), 'utf8'), text,
      `data/support/${name} is stale: run node dist/scripts/data/make_support_data.js`);
    assert.ok(statSync(join(dir, name)).size < 300_000, `${name} should stay small`);
  }
  assert.deepEqual(generateSupportData(), data, 'two runs differ');
});

test('rows have the demo format: "Customer: ...\\nAgent:" and a completion that starts with one space', () => {
  const train = readJsonl<TrainRow>('train.jsonl'), testRows = readJsonl<TestRow>('test.jsonl');
  for (const r of train) assert.deepEqual(Object.keys(r), ['prompt', 'completion']);
  for (const r of testRows) assert.deepEqual(Object.keys(r), ['prompt', 'completion', 'answer', 'fact', 'pattern']);
  for (const r of [...train, ...testRows]) {
    assert.match(r.prompt, /^Customer: \S[^\n]*\S\nAgent:$/);
    assert.match(r.completion, /^ \S[^\n]*\S$/);
  }
});

test('no test question occurs in train, even after normalisation', () => {
  const trainPrompts = new Set(data.train.map((r) => r.prompt));
  const trainNorm = new Set(data.train.map((r) => normalizeAnswer(question(r.prompt))));
  assert.equal(trainPrompts.size, data.train.length, 'train has duplicate prompts');
  assert.equal(new Set(data.test.map((r) => r.prompt)).size, data.test.length, 'test has duplicate prompts');
  for (const r of data.test) {
    assert.ok(!trainPrompts.has(r.prompt), `test prompt in train: ${r.prompt}`);
    assert.ok(!trainNorm.has(normalizeAnswer(question(r.prompt))), `test question in train after normalisation: ${r.prompt}`);
  }
});

test('every test fact is taught by train, and each fact has enough phrasings', () => {
  assert.ok(SUPPORT_FACTS.length >= 25 && SUPPORT_FACTS.length <= 40, `${SUPPORT_FACTS.length} facts`);
  const trainCount = new Map<string, number>();
  for (const r of data.train) trainCount.set(r.completion, (trainCount.get(r.completion) ?? 0) + 1);
  assert.equal(trainCount.size, SUPPORT_FACTS.length, 'every fact has its own answer, and every answer is in train');
  for (const r of data.test) assert.ok((trainCount.get(r.completion) ?? 0) > 0, `test answer never in train: ${r.completion}`);
  for (const f of SUPPORT_FACTS) {
    const rows = data.test.filter((r) => r.fact === f.id);
    assert.ok((trainCount.get(` ${f.answer}`) ?? 0) >= 15, `${f.id}: too few train phrasings`);
    assert.ok(rows.some((r) => r.pattern === 'seen') && rows.some((r) => r.pattern === 'new'), `${f.id}: test lacks a pattern`);
    for (const r of rows) assert.equal(r.completion, ` ${f.answer}`);
  }
});

test('each key phrase is found in its own answer and in no other', () => {
  for (const f of SUPPORT_FACTS) {
    for (const g of SUPPORT_FACTS) {
      assert.equal(containsAnswer(g.answer, f.key), f === g ? 1 : 0, `key "${f.key}" of ${f.id} vs the answer of ${g.id}`);
    }
  }
  for (const r of data.test) assert.equal(containsAnswer(r.completion, r.answer), 1, r.prompt);
});

test('held-out templates and wrappers never occur in train; every "new" test row uses one', () => {
  const heldOut = [...SUPPORT_FACTS.map((f) => templateRegex(f.heldOut, false)), ...TEST_WRAPPERS.map((w) => templateRegex(w, true))];
  // The regexes do match what they should: every train question fits some train wrapper.
  const trainWrappers = TRAIN_WRAPPERS.filter((w) => w !== '{Q}').map((w) => templateRegex(w, true));
  assert.ok(data.train.some((r) => trainWrappers.some((re) => re.test(question(r.prompt)))));
  for (const r of data.train) {
    const q = question(r.prompt);
    for (const re of heldOut) assert.ok(!re.test(q), `train question "${q}" uses held-out pattern ${re}`);
  }
  for (const r of data.test) {
    const q = question(r.prompt);
    assert.equal(heldOut.some((re) => re.test(q)), r.pattern === 'new', `${r.pattern} row "${q}"`);
  }
});

test('prompt and completion tokenized apart give the GPT-2 tokens of the joined text', () => {
  const enc = getEncoding('gpt2');
  for (const r of [...data.train, ...data.test]) {
    const apart = [...enc.encode(r.prompt), ...enc.encode(r.completion)];
    assert.deepEqual(apart, enc.encode(r.prompt + r.completion), r.prompt);
  }
  // The first completion token carries the space (" Hold"), not a lone " ".
  assert.equal(enc.decode([enc.encode(' Hold the power')[0]]), ' Hold');
});
