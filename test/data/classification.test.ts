// Labelled data for encoder heads: JSONL/CSV/pre-tokenized rows, label maps, token labels on the first
// sub-token, multi-label and regression targets, errors naming file:line, and padded batches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTokenizerDir } from '../../src/tokenizers/load.js';
import { encodeInput } from '../../src/tokenizers/encode_inputs.js';
import { loadClassificationRows, padClassificationBatch, IGNORE_INDEX } from '../../src/data/classification.js';
import { detectClassificationData } from '../../src/data/detect.js';
import { parseCsv } from '../../src/data/csv.js';
import { tempDir } from '../helpers/temp_dir.js';

const tok = loadTokenizerDir(join(process.cwd(), 'test/fixtures/tokenizers/bert-base-uncased'))!.tokenizer;
const dir = tempDir('cls-');
const write = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };
const jsonl = (name: string, rows: unknown[]) => write(name, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

test('{"text","label"} rows: label2id built sorted, ids as encodeInput gives, truncation counted', () => {
  const p = jsonl('a.jsonl', [{ text: 'Great film!', label: 'pos' }, { text: 'Awful, just awful and far too long to fit here.', label: 'neg' }, { text: 'meh', label: 'neutral' }]);
  const { rows, label2id, counts } = loadClassificationRows(p, { tokenizer: tok, maxLength: 8, problemType: 'single_label_classification' });
  assert.deepEqual(label2id, { neg: 0, neutral: 1, pos: 2 });
  assert.deepEqual(rows.map((r) => r.label), [2, 0, 1]);
  assert.deepEqual(rows[0].inputIds, encodeInput(tok, 'Great film!').ids);
  assert.deepEqual(rows[0].tokenTypeIds, [0, 0, 0, 0, 0]);
  assert.equal(rows[1].inputIds.length, 8);
  assert.deepEqual(counts, { rows: 3, truncated: 1, perLabel: { pos: 1, neg: 1, neutral: 1 } });
  assert.equal(detectClassificationData(p), 'text');
});

test('pairs from JSONL and from a CSV with quoted fields give the same rows; class ids accepted', () => {
  const j = jsonl('p.jsonl', [{ text: 'A man, "quoted"\nsays', text_pair: 'he speaks', label: 'entailment' }, { text: 'x', text_pair: 'y', label: 'contradiction' }]);
  const c = write('p.csv', 'text,text_pair,label\r\n"A man, ""quoted""\nsays",he speaks,entailment\r\nx,y,contradiction\r\n');
  const label2id = { contradiction: 0, entailment: 1 };
  const a = loadClassificationRows(j, { tokenizer: tok, label2id, maxLength: 64, problemType: 'single_label_classification' });
  const b = loadClassificationRows(c, { tokenizer: tok, label2id, maxLength: 64, problemType: 'single_label_classification' });
  assert.deepEqual(a.rows, b.rows);
  assert.equal(a.rows[0].tokenTypeIds!.filter((t) => t === 1).length, 3);   // he speaks [SEP]
  const ids = jsonl('i.jsonl', [{ text: 'x', label: 1 }]);
  assert.equal(loadClassificationRows(ids, { tokenizer: tok, label2id, maxLength: 64, problemType: 'single_label_classification' }).rows[0].label, 1);
  assert.deepEqual(parseCsv('a,"b\nc",d\n"",e,"f"""').map((r) => r.cells), [['a', 'b\nc', 'd'], ['', 'e', 'f"']]);
  assert.throws(() => parseCsv('a,b"c"\n', 'f.csv'), /f\.csv:1: a quote inside an unquoted field/);
  assert.equal(detectClassificationData(c), 'csv');
});

test('unknown labels in eval data are errors naming the file and line', () => {
  const p = jsonl('e.jsonl', [{ text: 'ok', label: 'pos' }, { text: 'what', label: 'mixed' }]);
  assert.throws(() => loadClassificationRows(p, { tokenizer: tok, label2id: { neg: 0, pos: 1 }, maxLength: 16, problemType: 'single_label_classification' }),
    (e: Error) => e.message.includes(`${p}:2: 'label': unknown label "mixed"`));
  const c = write('e.csv', 'text,label\nok,pos\n"two\nlines",nope\n');
  assert.throws(() => loadClassificationRows(c, { tokenizer: tok, label2id: { neg: 0, pos: 1 }, maxLength: 16, problemType: 'single_label_classification' }),
    (e: Error) => e.message.includes(`${c}:3: 'label': unknown label "nope"`));
});

test('{"tokens","tags"}: the tag on each word\'s first sub-token, -100 on the rest and on special tokens', () => {
  const p = jsonl('t.jsonl', [{ tokens: ['Johanson', 'visited', 'Kraków', '.'], tags: ['B-PER', 'O', 'B-LOC', 'O'] }]);
  const { rows, label2id, counts } = loadClassificationRows(p, { tokenizer: tok, maxLength: 32, problemType: 'token_classification' });
  assert.deepEqual(label2id, { 'B-LOC': 0, 'B-PER': 1, O: 2 });
  const toks = rows[0].inputIds.map((id) => tok.idToToken(id));
  assert.deepEqual(toks, ['[CLS]', 'johan', '##son', 'visited', 'krakow', '.', '[SEP]']);
  assert.deepEqual(rows[0].tokenLabels, [IGNORE_INDEX, 1, IGNORE_INDEX, 2, 0, 2, IGNORE_INDEX]);
  assert.deepEqual(counts.perLabel, { 'B-PER': 1, O: 2, 'B-LOC': 1 });
  assert.equal(detectClassificationData(p), 'tokens');
});

test('multi-label rows become multi-hot, regression rows floats, pre-tokenized rows are taken as they are', () => {
  const m = jsonl('m.jsonl', [{ text: 'a', label: ['sports', 'news'] }, { text: 'b', label: ['tech'] }, { text: 'c', label: [] }]);
  const r = loadClassificationRows(m, { tokenizer: tok, maxLength: 16, problemType: 'multi_label_classification' });
  assert.deepEqual(r.label2id, { news: 0, sports: 1, tech: 2 });
  assert.deepEqual(r.rows.map((x) => x.label), [[1, 1, 0], [0, 0, 1], [0, 0, 0]]);
  const g = jsonl('g.jsonl', [{ text: 'a', label: 3.5 }, { text: 'b', label: 1 }]);
  const rg = loadClassificationRows(g, { tokenizer: tok, maxLength: 16, problemType: 'regression' });
  assert.deepEqual(rg.rows.map((x) => x.label), [3.5, 1]);
  const batch = padClassificationBatch(rg.rows, 0, 'regression');
  assert.ok(batch.labels instanceof Float32Array);
  const i = jsonl('ids.jsonl', [{ input_ids: [101, 7, 8, 102], token_type_ids: [0, 0, 0, 0], label: 'a' }, { input_ids: [101, 9, 102], label: 'b' }]);
  const ri = loadClassificationRows(i, { tokenizer: tok, maxLength: 16, problemType: 'single_label_classification' });
  assert.deepEqual(ri.rows, [{ inputIds: [101, 7, 8, 102], tokenTypeIds: [0, 0, 0, 0], label: 0, tokenLabels: null }, { inputIds: [101, 9, 102], tokenTypeIds: null, label: 1, tokenLabels: null }]);
  assert.equal(detectClassificationData(i), 'ids');
  const bad = jsonl('bad.jsonl', [{ text: 'a', label: ['x'] }]);
  assert.throws(() => loadClassificationRows(bad, { tokenizer: tok, maxLength: 16, problemType: 'single_label_classification' }), /bad\.jsonl:1: 'label': a list of labels needs problem_type multi_label_classification/);
});

test('padClassificationBatch: right padding, attention mask, type ids and labels', () => {
  const b = padClassificationBatch([
    { inputIds: [1, 2, 3], tokenTypeIds: [0, 1, 1], label: 2, tokenLabels: [IGNORE_INDEX, 4, IGNORE_INDEX] },
    { inputIds: [5], tokenTypeIds: null, label: 0, tokenLabels: [IGNORE_INDEX] },
  ], 9);
  assert.equal(b.seqLen, 3);
  assert.deepEqual([...b.inputIds], [1, 2, 3, 5, 9, 9]);
  assert.deepEqual([...b.tokenTypeIds], [0, 1, 1, 0, 0, 0]);
  assert.deepEqual([...b.attentionMask], [1, 1, 1, 1, 0, 0]);
  assert.deepEqual([...b.labels!], [2, 0]);
  assert.ok(b.labels instanceof Int32Array);
  assert.deepEqual([...b.tokenLabels!], [IGNORE_INDEX, 4, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX]);
});
