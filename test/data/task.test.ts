// Task data: labels exactly as specified for each format (prompt ignored, completion + one EOS
// trained, BOS never doubled), chat masking through templates, length policies, and errors at file:line.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  ChatTemplate, IGNORE_INDEX, TaskEncoder, alpacaPrompt, explainExample, fitToLength, loadTaskData, readRows,
  type EncodedExample,
} from '../../src/data/index.js';
import { ByteTokenizer, bytesOf } from '../helpers/byte_tokenizer.js';
import { fixturePath } from '../helpers/fixtures.js';
import { throwsAt } from '../helpers/errors.js';
import { tempDir } from '../helpers/temp_dir.js';

const I = IGNORE_INDEX;
const data = (...p: string[]) => fixturePath('data', ...p);
const tmp = tempDir('task-');
let files = 0;
function jsonl(rows: unknown[]): string {
  const f = join(tmp, `rows${files++}.jsonl`);
  writeFileSync(f, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return f;
}
const show = (ex: EncodedExample, tok: ByteTokenizer) =>
  explainExample({ inputIds: Int32Array.from(ex.ids), labels: Int32Array.from(ex.labels) }, tok);

// Llama 3 Instruct's template (bos_token once, header tokens, trimmed content, <|eot_id|>).
const LLAMA3 =
  "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + " +
  "'<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}" +
  "{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";
// A template with no end-of-turn token: EOS must be appended after each assistant turn.
const PLAIN = "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}";

const CHAT = [
  { role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' },
  { role: 'user', content: '2+2?' }, { role: 'assistant', content: '4' },
];

test('prompt/completion: prompt ignored, completion and exactly one EOS trained', () => {
  const tok = new ByteTokenizer();
  const eos = tok.eosId!;
  const enc = new TaskEncoder(tok);
  const ex = enc.encodePromptCompletion('2+2=', ' 4');
  assert.deepEqual(ex.ids, [...bytesOf('2+2='), ...bytesOf(' 4'), eos]);
  assert.deepEqual(ex.labels, [I, I, I, I, ...bytesOf(' 4'), eos]);
  assert.equal(ex.completionStart, 4);
  // A completion that already ends with EOS gets no second one.
  const ended = enc.encodePromptCompletion('2+2=', ' 4<|endoftext|>');
  assert.deepEqual(ended.ids, ex.ids);
  assert.deepEqual(ended.labels, ex.labels);
});

test("BOS is added exactly when the tokenizer's own encode() adds it, and never doubled", () => {
  const tok = new ByteTokenizer({ bos: '<s>', eos: '</s>', specials: ['<s>', '</s>'], addBosByDefault: true });
  const [bos, eos] = [tok.bosId!, tok.eosId!];
  const withBos = new TaskEncoder(tok);
  const ex = withBos.encodePromptCompletion('Q', 'A');
  assert.deepEqual(ex.ids, [bos, ...bytesOf('Q'), ...bytesOf('A'), eos]);
  assert.deepEqual(ex.labels, [I, I, ...bytesOf('A'), eos]);
  assert.equal(ex.completionStart, 2);
  const already = withBos.encodePromptCompletion('<s>Q', 'A');
  assert.deepEqual(already.ids, ex.ids, 'a prompt that begins with BOS keeps exactly one');
  // A tokenizer that has a BOS token but does not add it (Qwen3-like) gets none.
  const hasBos = new ByteTokenizer({ bos: '<s>', eos: '</s>', specials: ['<s>', '</s>'] });
  assert.deepEqual(new TaskEncoder(hasBos).encodePromptCompletion('Q', 'A').ids, [...bytesOf('QA'), eos]);
});

test("Alpaca: Stanford Alpaca's two prompts, exactly", () => {
  assert.equal(alpacaPrompt('Give a synonym.', 'happy'),
    'Below is an instruction that describes a task, paired with an input that provides further context. ' +
    'Write a response that appropriately completes the request.\n\n### Instruction:\nGive a synonym.\n\n### Input:\nhappy\n\n### Response:');
  assert.equal(alpacaPrompt('Name a color.', ''),
    'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n' +
    '### Instruction:\nName a color.\n\n### Response:');
  assert.equal(alpacaPrompt('Use $& and $1 literally.'), alpacaPrompt('Use $& and $1 literally.', ''));
  assert.match(alpacaPrompt('Use $& and $1 literally.'), /Use \$& and \$1 literally\./);

  const tok = new ByteTokenizer();
  const d = loadTaskData(data('alpaca.json'), tok, { maxLength: 512 });
  assert.deepEqual(d.summary.files, { [data('alpaca.json')]: 'alpaca' });
  assert.equal(d.train.size, 3);
  const ex = d.train.get(0);
  assert.equal(explainExample(ex, tok), alpacaPrompt('Give a synonym.', 'happy') + '[[glad<|endoftext|>]]');
  assert.equal(explainExample(d.train.get(2), tok), alpacaPrompt('Count to three.') + '[[1, 2, 3<|endoftext|>]]', 'a missing input is empty');
});

test('the prompt/completion file: every row, labels on completion + EOS', () => {
  const tok = new ByteTokenizer();
  const d = loadTaskData(data('prompt_completion.jsonl'), tok, { maxLength: 512 });
  assert.deepEqual([0, 1, 2].map((i) => explainExample(d.train.get(i), tok)), [
    'Translate to French: cat\n[[chat<|endoftext|>]]', '2+2=[[ 4<|endoftext|>]]', '[[no prompt at all<|endoftext|>]]',
  ]);
  assert.equal(d.summary.kept, 3);
  assert.equal(d.summary.labelTokens, 5 + 3 + 17);
});

test('chat with ChatML: only assistant turns trained, through <|im_end|>; the newline after it is not', () => {
  const tok = new ByteTokenizer({ eos: '<|im_end|>' });
  const ex = new TaskEncoder(tok).encodeChat(CHAT);
  assert.equal(show(ex, tok),
    '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n[[Hello!<|im_end|>]]\n' +
    '<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n[[4<|im_end|>]]\n');
  assert.equal(ex.ids.filter((id) => id === tok.eosId).length, CHAT.length, 'one <|im_end|> per message, no EOS added');
  // GPT-2-like EOS (<|endoftext|>): <|im_end|> still ends the turn and no extra EOS is inserted.
  const gpt2ish = new ByteTokenizer();
  const ex2 = new TaskEncoder(gpt2ish).encodeChat(CHAT);
  assert.equal(show(ex2, gpt2ish), show(ex, tok));
  // Only the last turn when asked.
  const last = new TaskEncoder(tok, { assistantTurns: 'last' }).encodeChat(CHAT);
  assert.match(show(last, tok), /assistant\nHello!<\|im_end\|>\n.*\[\[4<\|im_end\|>\]\]\n$/s);
  // The mask boundary is exact in ids: labels equal ids where trained.
  ex.labels.forEach((l, i) => { if (l !== I) assert.equal(l, ex.ids[i]); });
});

test('chat with a Llama 3 template: its bos_token is not doubled; trained through <|eot_id|>', () => {
  const tok = new ByteTokenizer({ bos: '<|begin_of_text|>', eos: '<|eot_id|>', addBosByDefault: true });
  const ex = new TaskEncoder(tok, { chatTemplate: new ChatTemplate(LLAMA3) }).encodeChat(CHAT);
  assert.equal(ex.ids[0], tok.bosId);
  assert.notEqual(ex.ids[1], tok.bosId);
  assert.equal(ex.ids.filter((id) => id === tok.bosId).length, 1);
  assert.equal(show(ex, tok),
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>' +
    '<|start_header_id|>assistant<|end_header_id|>\n\n[[Hello!<|eot_id|>]]<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>' +
    '<|start_header_id|>assistant<|end_header_id|>\n\n[[4<|eot_id|>]]');
  // Base Llama 3 (EOS <|end_of_text|>, not in this vocabulary): <|eot_id|> still ends the turn.
  const base = new ByteTokenizer({ bos: '<|begin_of_text|>', eos: '<|endoftext|>', addBosByDefault: true });
  const exb = new TaskEncoder(base, { chatTemplate: new ChatTemplate(LLAMA3) }).encodeChat(CHAT);
  assert.equal(show(exb, base), show(ex, tok));
});

test('a template without an end-of-turn token: one EOS appended after each assistant turn', () => {
  const tok = new ByteTokenizer();
  const ex = new TaskEncoder(tok, { chatTemplate: new ChatTemplate(PLAIN) }).encodeChat(CHAT);
  assert.equal(show(ex, tok),
    'system: Be brief.\nuser: Hi\nassistant: [[Hello!\n<|endoftext|>]]user: 2+2?\nassistant: [[4\n<|endoftext|>]]');
  // A turn whose content already ends in EOS gets none added; the template's newline follows untrained.
  const msgs = [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Yo<|endoftext|>' }];
  const ex2 = new TaskEncoder(tok, { chatTemplate: new ChatTemplate(PLAIN) }).encodeChat(msgs);
  assert.equal(show(ex2, tok), 'user: Hi\nassistant: [[Yo<|endoftext|>]]\n');
});

/** Byte tokens, but "\nH" merges into one token (300): tokenizing a prefix is then not a prefix of the whole. */
class MergingTokenizer extends ByteTokenizer {
  override readonly vocabSize = 301;
  override encode(text: string, opts?: { addSpecialTokens?: boolean }): number[] {
    const ids = super.encode(text, opts), out: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] === 10 && ids[i + 1] === 72) { out.push(300); i++; } else out.push(ids[i]);
    }
    return out;
  }
  override decode(ids: readonly number[]): string {
    return ids.map((id) => (id === 300 ? '\nH' : super.decode([id]))).join('');
  }
}

test('when prefix ids are not a prefix of the whole, the rendered pieces are tokenized apart', () => {
  const tok = new MergingTokenizer();
  const enc = new TaskEncoder(tok);
  const ex = enc.encodeChat(CHAT);
  assert.equal(enc.lastFallbacks, 1);
  assert.equal(show(ex, tok), show(new TaskEncoder(new ByteTokenizer()).encodeChat(CHAT), new ByteTokenizer()));
  const firstTrained = ex.labels.findIndex((l) => l !== I);
  assert.equal(ex.ids[firstTrained], 'H'.charCodeAt(0), 'the assistant turn starts at its own first token, not a merged one');
});

test('ShareGPT conversations become the same messages', () => {
  const tok = new ByteTokenizer({ eos: '<|im_end|>' });
  const a = loadTaskData(data('sharegpt.jsonl'), tok, { maxLength: 512 });
  const b = loadTaskData(data('messages.jsonl'), tok, { maxLength: 512 });
  assert.equal(a.summary.files[data('sharegpt.jsonl')], 'sharegpt');
  assert.equal(b.summary.files[data('messages.jsonl')], 'messages');
  assert.deepEqual([...a.train.get(0).inputIds], [...b.train.get(0).inputIds]);
  assert.deepEqual([...a.train.get(0).labels], [...b.train.get(0).labels]);
});

test('several files, each with its own format; a folder; valFraction takes the last examples', () => {
  const tok = new ByteTokenizer();
  const d = loadTaskData([data('prompt_completion.jsonl'), data('alpaca.json')], tok, { maxLength: 512, valFraction: 0.2 });
  assert.equal(d.summary.files[data('prompt_completion.jsonl')], 'prompt-completion');
  assert.equal(d.summary.files[data('alpaca.json')], 'alpaca');
  assert.equal(d.train.size, 5);
  assert.equal(d.val!.size, 1);
  assert.match(explainExample(d.val!.get(0), tok), /Count to three/);
  const dir = join(tmp, 'folder');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  cpSync(data('messages.jsonl'), join(dir, 'sub', 'b.jsonl'));
  cpSync(data('prompt_completion.jsonl'), join(dir, 'a.jsonl'));
  writeFileSync(join(dir, 'notes.txt'), 'ignored');
  const f = loadTaskData(dir, tok, { maxLength: 512 });
  assert.deepEqual(Object.values(f.summary.files), ['prompt-completion', 'messages']);
  assert.equal(f.train.size, 5);
});

test('truncation left: the prompt is cut from the left after BOS, the answer kept whole; a vanishing prompt drops the row', () => {
  const tok = new ByteTokenizer({ bos: '<s>' });
  const [bos, eos] = [tok.bosId!, tok.eosId!];
  const prompt = 'abcdefghijklmnopqrst', completion = 'WXYZ!';
  const plain = new TaskEncoder(tok).encodePromptCompletion(prompt, completion);
  const left = fitToLength(plain, 10, 'left');
  assert.deepEqual(left.example!.ids, [...bytesOf('qrst'), ...bytesOf(completion), eos]);
  assert.deepEqual(left.example!.labels, [I, I, I, I, ...bytesOf(completion), eos]);
  assert.equal(left.example!.completionStart, 4);
  assert.deepEqual(left.cut, { side: 'left', tokens: 16, answerCut: false });
  const bosTok = new ByteTokenizer({ bos: '<s>', addBosByDefault: true });
  const withBos = new TaskEncoder(bosTok).encodePromptCompletion(prompt, completion);
  assert.equal(withBos.ids[0], bos);
  const lb = fitToLength(withBos, 10, 'left', 1);
  assert.deepEqual(lb.example!.ids, [bos, ...bytesOf('rst'), ...bytesOf(completion), eos], 'BOS stays first');
  assert.deepEqual(fitToLength(withBos, 10, 'drop', 1), { dropped: 'too-long' });
  assert.deepEqual(fitToLength(withBos, 100, 'drop', 1), { example: withBos, cut: null });
  // One prompt token must stay: at 7 = BOS + 1 + 'WXYZ!' + EOS it fits, at 6 the prompt would vanish.
  assert.deepEqual(fitToLength(withBos, 8, 'left', 1).example!.ids, [bos, ...bytesOf('t'), ...bytesOf(completion), eos]);
  assert.deepEqual(fitToLength(withBos, 7, 'left', 1), { dropped: 'prompt-would-vanish' });
});

test('truncation right: the prompt is kept, a cut answer has no EOS label; no room for the answer drops the row', () => {
  const tok = new ByteTokenizer({ bos: '<s>', addBosByDefault: true });
  const [bos, eos] = [tok.bosId!, tok.eosId!];
  const ex = new TaskEncoder(tok).encodePromptCompletion('prompt', 'a long completion');
  const cut = fitToLength(ex, 10, 'right', 1);
  assert.deepEqual(cut.example!.ids, [bos, ...bytesOf('prompt'), ...bytesOf('a l')]);
  assert.deepEqual(cut.example!.labels, [I, I, I, I, I, I, I, ...bytesOf('a l')]);
  assert.deepEqual(cut.cut, { side: 'right', tokens: ex.ids.length - 10, answerCut: true });
  assert.deepEqual(fitToLength(ex, 7, 'right', 1), { dropped: 'no-room-for-answer' });
  // Left on the same row: the answer alone (17 + EOS) does not fit beside one prompt token.
  assert.deepEqual(fitToLength(ex, 10, 'left', 1), { dropped: 'prompt-would-vanish' });
  // Chat: cutting only the untrained newline after <|im_end|> keeps the answer whole.
  const chatTok = new ByteTokenizer({ eos: '<|im_end|>' });
  const chat = new TaskEncoder(chatTok).encodeChat([{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a long answer here' }]);
  const c = fitToLength(chat, chat.ids.length - 1, 'right');
  assert.equal(c.cut!.answerCut, false);
  assert.match(show(c.example!, chatTok), /\[\[a long answer here<\|im_end\|>\]\]$/);
  const c2 = fitToLength(chat, chat.ids.length - 3, 'right');
  assert.equal(c2.cut!.answerCut, true);
  assert.match(show(c2.example!, chatTok), /\[\[a long answer her\]\]$/, 'no end of turn trained after a cut answer');
});

test('the length policy reports kept, truncated and dropped counts with reasons', () => {
  const tok = new ByteTokenizer();
  const f = jsonl([
    { prompt: 'short', completion: 'ok' },
    { prompt: 'a much longer prompt that will not fit', completion: 'ok' },
    { prompt: 'p', completion: 'a completion that alone is too long' },
  ]);
  const left = loadTaskData(f, tok, { maxLength: 12 });
  assert.deepEqual([left.summary.rows, left.summary.kept, left.summary.truncated, left.summary.dropped], [3, 2, 1, 1]);
  assert.deepEqual(left.summary.droppedBy, { 'prompt-would-vanish': 1 });
  for (let i = 0; i < 2; i++) {
    const ex = left.train.get(i);
    assert.ok(ex.inputIds.length <= 12);
    assert.equal(ex.labels[ex.labels.length - 1], tok.eosId, 'every example still ends with its trained EOS');
  }
  const right = loadTaskData(f, tok, { maxLength: 12, truncation: 'right' });
  assert.deepEqual([right.summary.kept, right.summary.truncated, right.summary.answersCut, right.summary.dropped], [2, 1, 1, 1]);
  assert.deepEqual(right.summary.droppedBy, { 'no-room-for-answer': 1 });
  assert.notEqual(right.train.get(1).labels[11], tok.eosId);
  const drop = loadTaskData(f, tok, { maxLength: 12, truncation: 'drop' });
  assert.deepEqual([drop.summary.kept, drop.summary.truncated, drop.summary.dropped], [1, 0, 2]);
  assert.deepEqual(drop.summary.droppedBy, { 'too-long': 2 });
  assert.throws(() => loadTaskData(f, tok, { maxLength: 3, truncation: 'drop' }), /no examples: all 3 were longer than maxLength 3/);
});


test('errors name the file, the line and what is wrong', () => {
  const tok = new ByteTokenizer();
  const bad = (f: string) => data('bad', f);
  const load = (f: string) => () => loadTaskData(bad(f), tok, { maxLength: 64 });
  throwsAt(load('pc_missing.jsonl'), bad('pc_missing.jsonl'), 2, /missing "completion"/);
  throwsAt(load('pc_empty_completion.jsonl'), bad('pc_empty_completion.jsonl'), 2, /empty completion/);
  throwsAt(load('alpaca_missing.jsonl'), bad('alpaca_missing.jsonl'), 3, /missing "instruction", "output"/);
  throwsAt(load('chat_no_assistant.jsonl'), bad('chat_no_assistant.jsonl'), 2, /no assistant turn/);
  throwsAt(load('chat_unknown_role.jsonl'), bad('chat_unknown_role.jsonl'), 2, /unknown role "narrator"/);
  throwsAt(load('sharegpt_unknown_from.jsonl'), bad('sharegpt_unknown_from.jsonl'), 2, /unknown "from" "bot"/);
  throwsAt(load('unknown_keys.jsonl'), bad('unknown_keys.jsonl'), 1, /cannot tell the data format from the keys "foo"/);
  throwsAt(load('malformed.jsonl'), bad('malformed.jsonl'), 2, /malformed JSON/);
  throwsAt(load('empty.txt'), bad('empty.txt'), undefined, /empty or blank/);
  // A JSON array: errors point at the line where the element starts.
  assert.deepEqual(readRows(data('alpaca.json')).map((r) => r.line), [2, 7, 12]);
  throwsAt(() => loadTaskData(data('alpaca.json'), tok, { maxLength: 64, format: 'prompt-completion' }), data('alpaca.json'), 2,
    /missing "prompt", "completion"/);
  // Wrong types are named too.
  const f = jsonl([{ prompt: 'a', completion: 7 }]);
  throwsAt(() => loadTaskData(f, tok, { maxLength: 64 }), f, 1, /"completion" must be a string, got the integer 7/);
});

test("a template error carries the template's own message and the row's file:line", () => {
  const tok = new ByteTokenizer();
  const strict = new ChatTemplate(
    "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{{ m.content }}{% endfor %}",
    'my_template.jinja');
  const f = jsonl([{ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] }, { messages: CHAT }]);
  throwsAt(() => loadTaskData(f, tok, { maxLength: 64, chatTemplate: strict }), f, 2, /my_template\.jinja: chat template error: System role not supported/);
  // A template that renders prefixes differently from the whole: the assistant text is found in the whole.
  const counting = new ChatTemplate('{{ messages|length }}{% for m in messages %}{{ m.content }}{% endfor %}');
  const ok = loadTaskData(jsonl([{ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] }]), tok, { maxLength: 64, chatTemplate: counting });
  const ex = ok.train.get(0);
  assert.equal(tok.decode(Array.from(ex.inputIds).filter((_, k) => ex.labels[k] !== IGNORE_INDEX && ex.inputIds[k] !== tok.eosId)), 'b', 'only the assistant text is trained');
  // Neither prefix-stable nor rendering the text as written: said plainly.
  const shouting = new ChatTemplate('{{ messages|length }}{% for m in messages %}{{ m.content|upper }}{% endfor %}');
  throwsAt(() => loadTaskData(f, tok, { maxLength: 64, chatTemplate: shouting }), f, 1, /does not render assistant message 1's text as written/);
});

test('skipBadRows skips bad task rows and reports them', () => {
  const tok = new ByteTokenizer();
  const d = loadTaskData(data('bad', 'chat_unknown_role.jsonl'), tok, { maxLength: 64, skipBadRows: true });
  assert.equal(d.train.size, 1);
  assert.equal(d.summary.skippedRows, 1);
  assert.equal(d.summary.badRows[0].line, 2);
  assert.match(d.summary.badRows[0].message, /narrator/);
  const f = join(tmp, 'mixed.jsonl');
  writeFileSync(f, '{"prompt": "a", "completion": "b"}\n{"prompt": \n{"prompt": "c"}\n{"prompt": "d", "completion": "e"}\n');
  const m = loadTaskData(f, tok, { maxLength: 64, skipBadRows: true });
  assert.equal(m.train.size, 2);
  assert.deepEqual(m.summary.badRows.map((b) => b.line), [2, 3]);
  assert.throws(() => loadTaskData(data('bad', 'malformed.jsonl'), tok, { maxLength: 64, skipBadRows: true, format: 'prompt-completion' }),
    /no examples: every row was skipped/);
});
