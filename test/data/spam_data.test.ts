// The spam/ham generator (scripts/data/make_spam_data.ts) on the real SpamAssassin e-mails: no header
// of an e-mail reaches its text, MIME bodies are decoded, the split is stratified, disjoint and
// deterministic, and every text fits the token budget of the model that reads it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emailText, htmlToText } from '../../scripts/data/email_text.js';
import {
  MAX_TOKENS, TEST_FRACTION, baseTokenizer, generateSpamData, instructRow, labelOf, readSpamAssassin, spamFiles, type RawEmail,
} from '../../scripts/data/make_spam_data.js';

const all = readSpamAssassin();
// 80 e-mails of each group keeps the test quick; every group and both labels are in it.
const subset: RawEmail[] = [];
{
  const per: Record<string, number> = {};
  for (const e of all) if ((per[e.group] = (per[e.group] ?? 0) + 1) <= 80) subset.push(e);
}
const tok = baseTokenizer();
const data = generateSpamData(subset, { tokenizer: tok });
const header = (raw: string, name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(raw.split(/\r?\n\r?\n/)[0])?.[1]?.trim();

test('the package holds the 6,046 e-mails in 5 groups the dataset card names', () => {
  const groups: Record<string, number> = {};
  for (const e of all) groups[e.group] = (groups[e.group] ?? 0) + 1;
  assert.deepEqual(groups, { 'easy-ham-1': 2500, 'easy-ham-2': 1400, 'hard-ham-1': 250, 'spam-1': 500, 'spam-2': 1396 });
});

test('no header of an e-mail reaches its text; the subject does, once, on the first line', () => {
  let checked = 0;
  for (const e of subset) {
    const { subject, body } = emailText(e.text);
    const id = header(e.text, 'Message-Id'), received = header(e.text, 'Received'), subj = header(e.text, 'Subject');
    if (id) assert.ok(!body.includes(id), `${e.group}/${e.id}: its Message-Id ${id} is in the body`);
    if (received) assert.ok(!body.includes(received.slice(0, 40)), `${e.group}/${e.id}: its Received header is in the body`);
    assert.ok(!/^(Return-Path|Delivered-To|X-Spam-Status|Content-Transfer-Encoding):/m.test(body.split('\n').slice(0, 3).join('\n')),
      `${e.group}/${e.id}: the body starts with headers:\n${body.slice(0, 300)}`);
    if (subj && !/=\?/.test(subj)) assert.equal(subject, subj.replace(/\s+/g, ' '));
    checked++;
  }
  assert.equal(checked, 400);
});

test('MIME: quoted-printable and base64 decoded, plain text chosen over HTML, attachments and encoded subjects handled', () => {
  const raw = [
    'From x@example.com  Thu Aug 22 13:17:22 2002', 'Received: from a.example (a.example [10.0.0.1])', '\tby b.example', 'Message-Id: <1@example.com>',
    'Subject: =?iso-8859-1?Q?Caf=E9_deals?=', 'Content-Type: multipart/mixed; boundary="XX"', '', 'prologue',
    '--XX', 'Content-Type: multipart/alternative; boundary=YY', '',
    '--YY', 'Content-Type: text/plain; charset=iso-8859-1', 'Content-Transfer-Encoding: quoted-printable', '', 'Cr=E8me br=FBl=\n=E9e for 5 =3D cheap', '',
    '--YY', 'Content-Type: text/html', '', '<p>ignored html</p>', '--YY--',
    '--XX', 'Content-Type: text/html; charset=utf-8', 'Content-Transfer-Encoding: base64', '', Buffer.from('<html><head><style>p{}</style></head><body><p>Click&nbsp;<b>here</b> &amp; win &#8364;5</p></body></html>').toString('base64'),
    '--XX', 'Content-Type: application/octet-stream', 'Content-Disposition: attachment; filename=a.exe', 'Content-Transfer-Encoding: base64', '', 'TVqQAAMAAAAEAAAA', '--XX--', '',
  ].join('\r\n');
  assert.deepEqual(emailText(raw), { subject: 'Café deals', body: 'Crème brûlée for 5 = cheap\nClick here & win €5' });
  assert.equal(htmlToText('<script>x()</script>a<br>b<!-- c -->'), ' a\nb ');
});

test('the split: stratified by group, disjoint, every e-mail accounted for, the same rows on every run', () => {
  const { train, test: testRows, dropped } = data;
  assert.equal(train.length + testRows.length + dropped.empty + dropped.duplicate + dropped.conflicting, subset.length);
  const trainTexts = new Set(train.map((r) => r.text));
  assert.equal(trainTexts.size, train.length, 'train has repeated texts');
  for (const r of testRows) assert.ok(!trainTexts.has(r.text), `a test text is in train: ${r.text.slice(0, 80)}`);
  for (const label of ['spam', 'ham'] as const) {
    const nTest = testRows.filter((r) => r.label === label).length, n = nTest + train.filter((r) => r.label === label).length;
    // Rounding per group: at most half a row per group away from the fraction.
    assert.ok(Math.abs(nTest - n * TEST_FRACTION) <= (label === 'spam' ? 1 : 1.5), `${label}: ${nTest} of ${n} in test`);
  }
  assert.deepEqual(generateSpamData(subset, { tokenizer: tok }), data, 'two runs differ');
  assert.equal(labelOf('spam-2'), 'spam');
  assert.equal(labelOf('hard-ham-1'), 'ham');
});

test('every text fits the token budget and starts with its subject; instruction rows mirror the plain rows', () => {
  for (const r of [...data.train, ...data.test]) {
    assert.ok(tok.encode(r.text).length <= MAX_TOKENS, `${tok.encode(r.text).length} tokens: ${r.text.slice(0, 80)}`);
    assert.equal(r.text, r.text.trim());
  }
  const bySubject = new Map(subset.map((e) => [emailText(e.text).subject, e]));
  for (const r of data.train.slice(0, 50)) {
    const first = r.text.split('\n')[0];
    if (first.startsWith('Subject: ')) assert.ok(bySubject.has(first.slice(9)) || r.text.split('\n').length === 1, `first line is no e-mail's subject: ${first}`);
  }
  const files = spamFiles(data);
  const plain = files['test.jsonl'].trimEnd().split('\n').map((l) => JSON.parse(l) as { text: string; label: string });
  const instruct = files['test-instruct.jsonl'].trimEnd().split('\n').map((l) => JSON.parse(l) as { prompt: string; completion: string });
  assert.equal(plain.length, instruct.length);
  plain.forEach((r, i) => {
    assert.deepEqual(Object.keys(r), ['text', 'label']);
    assert.deepEqual(instruct[i], { prompt: `${r.text}\n\nIs this e-mail spam or ham?\nAnswer:`, completion: ` ${r.label}` });
    assert.deepEqual(instructRow({ text: r.text, label: r.label as 'spam' | 'ham' }), instruct[i]);
  });
  // The prompt plus the answer and EOS fit the base model's 256 positions.
  const longest = Math.max(...instruct.map((r) => tok.encode(r.prompt + r.completion).length));
  assert.ok(longest + 1 <= 256, `longest instruction row: ${longest} tokens`);
  assert.match(files['README.md'], /\| test \| \d+ \| \d+ \| \d+ \|/);
});
