// The length policies on the shipped support data at two tight limits (GPT-2's tokenizer): no kept row
// trains an EOS after a cut answer, none has lost its whole prompt, and the summary counts each case.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IGNORE_INDEX, TRUNCATIONS, loadTaskData, taskRows, type TaskRow, type Truncation } from '../../src/data/index.js';
import { builtinTokenizer } from '../../src/tokenizers/load.js';
import { tempDir } from '../helpers/temp_dir.js';

const SUPPORT = join(process.cwd(), 'data', 'support', 'train.jsonl');
const tok = builtinTokenizer('gpt2').tokenizer;
const eos = tok.eosId!;
const trained = (labels: readonly number[]) => labels.filter((l) => l !== IGNORE_INDEX);

// The shipped rows, and the same rows as chat (ChatML, whose markup GPT-2 splits into many tokens).
const tmp = tempDir('trunc-');
const CHAT = join(tmp, 'support_chat.jsonl');
writeFileSync(CHAT, readFileSync(SUPPORT, 'utf8').trimEnd().split('\n').map((l) => {
  const r = JSON.parse(l) as { prompt: string; completion: string };
  return JSON.stringify({ messages: [{ role: 'user', content: r.prompt.replace(/^Customer: /, '').replace(/\nAgent:$/, '') }, { role: 'assistant', content: r.completion.trim() }] });
}).join('\n') + '\n');

/** Checks every row under one policy and returns the counts the summary must report. */
function checkRows(file: string, maxLength: number, truncation: Truncation) {
  const rows: TaskRow[] = [...taskRows([file], tok, { maxLength, truncation })];
  let kept = 0, truncated = 0, answersCut = 0;
  const droppedBy: Record<string, number> = {};
  for (const r of rows) {
    const full = r.full;
    if (r.fit.dropped) {
      assert.ok(full.ids.length > maxLength, `row ${r.row} dropped though it fits`);
      droppedBy[r.fit.dropped] = (droppedBy[r.fit.dropped] ?? 0) + 1;
      continue;
    }
    kept++;
    const ex = r.fit.example;
    assert.ok(ex.ids.length <= maxLength);
    assert.equal(ex.ids.length, ex.labels.length);
    assert.ok(ex.labels.findIndex((l) => l !== IGNORE_INDEX) >= 1, `row ${r.row} keeps some of its prompt`);
    // Trained ids are a prefix (right) or all (left) of the full answer; EOS only when the answer is whole.
    const want = trained(full.labels), got = trained(ex.labels);
    assert.deepEqual(got, want.slice(0, got.length), `row ${r.row}: the answer's start is kept`);
    if (r.fit.cut) truncated++;
    if (got.length < want.length) {
      answersCut++;
      assert.equal(r.fit.cut?.answerCut, true);
      assert.ok(!got.includes(eos), `row ${r.row}: no EOS label after a cut answer`);
    } else {
      // Prompt/completion: EOS. ChatML chat: exactly the rendered text, through <|im_end|> (7 GPT-2 tokens, no EOS added).
      if (got[got.length - 1] !== eos) assert.ok(tok.decode(got).endsWith('<|im_end|>') && !got.includes(eos), `row ${r.row}: a whole answer ends in EOS or <|im_end|>`);
    }
    if (truncation !== 'right') assert.equal(got.length, want.length, 'only right cuts answers');
  }
  if (kept > 0) {
    const s = loadTaskData(file, tok, { maxLength, truncation }).summary;
    assert.deepEqual([s.rows, s.kept, s.truncated, s.answersCut, s.dropped, s.droppedBy], [rows.length, kept, truncated, answersCut, rows.length - kept, droppedBy]);
  } else {
    assert.throws(() => loadTaskData(file, tok, { maxLength, truncation }), /no examples: all \d+ were longer than maxLength/);
  }
  return { rows: rows.length, kept, truncated, answersCut, droppedBy };
}

for (const maxLength of [24, 48]) {
  for (const truncation of TRUNCATIONS) {
    test(`support data at --max-length ${maxLength}, --truncation ${truncation}: no EOS after a cut answer, no prompt lost`, () => {
      const pc = checkRows(SUPPORT, maxLength, truncation);
      const chat = checkRows(CHAT, maxLength, truncation);
      // Each case the policies name does happen on this data (counts measured with GPT-2's tokenizer).
      if (maxLength === 24 && truncation === 'left') {
        assert.ok(pc.truncated > pc.rows / 2 && pc.kept === pc.rows, 'prompts cut, answers whole');
        assert.ok((chat.droppedBy['prompt-would-vanish'] ?? 0) > 0, 'chat rows whose answer alone fills 24 tokens are dropped');
      }
      if (maxLength === 24 && truncation === 'right') assert.ok(pc.answersCut > pc.rows / 2 && (pc.droppedBy['no-room-for-answer'] ?? 0) > 0);
      if (maxLength === 48 && truncation === 'right') assert.ok(chat.answersCut > 0);
      if (truncation === 'drop') assert.ok(chat.droppedBy['too-long'] === chat.rows);
    });
  }
}
