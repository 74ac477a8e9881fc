// Text input edges: a UTF-8 BOM is skipped; invalid UTF-8 is an error naming the file and byte offset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstRow, forEachLine, forEachTextChunk, readRows } from '../../src/data/index.js';
import { checkUtf8, Utf8Check } from '../../src/util/utf8.js';
import { tempDir } from '../helpers/temp_dir.js';

const dir = tempDir('utf8-');
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

test('a BOM before the first JSONL row is skipped by the row sniffer and the reader', () => {
  const f = join(dir, 'bom.jsonl');
  writeFileSync(f, Buffer.concat([BOM, Buffer.from('{"prompt":"a","completion":"b"}\n')]));
  assert.deepEqual(firstRow(f), { prompt: 'a', completion: 'b' });
  assert.deepEqual(readRows(f).map((r) => Object.keys(r.value as object)), [['prompt', 'completion']]);
});

test('invalid UTF-8 in JSONL, a JSON array and text names the file and the byte offset', () => {
  const jsonl = join(dir, 'bad.jsonl');
  writeFileSync(jsonl, Buffer.concat([Buffer.from('{"text":"ok"}\n{"text":"caf'), Buffer.from([0xe9]), Buffer.from('"}\n')]));
  assert.throws(() => readRows(jsonl), (e: Error) => e.message === `${jsonl}: invalid UTF-8 at byte offset 26: save the file as UTF-8`);
  const arr = join(dir, 'bad.json');
  writeFileSync(arr, Buffer.concat([Buffer.from('[{"text":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]')]));
  assert.throws(() => readRows(arr), /bad\.json: invalid UTF-8 at byte offset 10/);
  const txt = join(dir, 'bad.txt');
  writeFileSync(txt, Buffer.concat([Buffer.from('x'.repeat(5000)), Buffer.from([0xff])]));
  assert.throws(() => forEachTextChunk(txt, () => {}, 1000), /bad\.txt: invalid UTF-8 at byte offset 5000/);
  // A file cut inside a multi-byte character.
  const cut = join(dir, 'cut.txt');
  writeFileSync(cut, Buffer.from([0x61, 0xe6, 0x97]));
  assert.throws(() => forEachLine(cut, () => {}), /cut\.txt: invalid UTF-8 at byte offset 1 \(a truncated multi-byte sequence/);
});

test('the streaming check accepts characters split across chunks and finds the offset past earlier chunks', () => {
  const text = Buffer.from('héllo 日本語 😀 ok');
  for (let size = 1; size <= 5; size++) {
    const c = new Utf8Check('f');
    for (let i = 0; i < text.length; i += size) c.push(text.subarray(i, i + size));
    c.end();
  }
  const c = new Utf8Check('f');
  c.push(Buffer.from([0x61, 0xe6]));
  assert.throws(() => c.push(Buffer.from([0x41])), /byte offset 1/);
  for (const bad of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe0, 0x80, 0x80]]) {
    assert.throws(() => checkUtf8(Buffer.from([0x20, ...bad]), 'f'), /byte offset 1/, bad.join(','));
  }
});
