// Task data for fine-tuning with the loss on completions only: prompt/completion pairs, Alpaca
// instructions, chat messages and ShareGPT conversations become ids with aligned labels, IGNORE_INDEX
// on everything the model is not asked to produce.
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { ChatTemplate, type ChatMessage } from '../tokenizers/chat_template.js';
import { leadingSpecialIds, withLeadingSpecial } from '../tokenizers/bos.js';
import { GptuneError, describe, errorMessage } from '../util/errors.js';
import { ArrayDataset, isHiddenOrCache, valCount } from './corpus.js';
import { readRows, type BadRow } from './jsonl.js';
import { IGNORE_INDEX, type Example, type TextTokenizer } from './types.js';

export type TaskFormat = 'prompt-completion' | 'alpaca' | 'messages' | 'sharegpt';

/**
 * What happens to an example longer than maxLength. 'left' (the default) cuts the prompt from the left
 * and keeps every answer whole with its EOS, so the model never learns to stop mid-answer; a row whose
 * answer alone fills maxLength would lose its whole prompt (training to answer nothing), so it is
 * dropped and counted instead. 'right' is TRL's keep_start: the question stays, the answer's end is cut
 * (and so carries no EOS label); a row whose prompt leaves no answer token is dropped. 'drop' skips
 * every long row. gptune keeps 'left' as the default so that no trained answer is ever partial.
 */
export const TRUNCATIONS = ['left', 'right', 'drop'] as const;
export type Truncation = (typeof TRUNCATIONS)[number];

/** Why a row was left out: too long under 'drop'; its prompt would vanish ('left'); no answer token would fit ('right'). */
export type DropReason = 'too-long' | 'prompt-would-vanish' | 'no-room-for-answer';

export interface TaskOptions {
  /** Longest example in tokens (usually the training seqLen). */
  maxLength: number;
  /** See TRUNCATIONS; default 'left'. */
  truncation?: Truncation;
  /** Detected per file from the first row's keys unless given. */
  format?: TaskFormat | 'auto';
  /** For messages/ShareGPT; default: ChatML (ChatTemplate.chatml()). */
  chatTemplate?: ChatTemplate;
  /** Template variables; default: the tokenizer's text for bosId / eosId. */
  bosToken?: string;
  eosToken?: string;
  /** Tokens that end an assistant turn (when single tokens in this vocabulary), besides EOS. */
  endOfTurn?: readonly string[];
  /** Train on every assistant turn (default) or only on the last one. */
  assistantTurns?: 'all' | 'last';
  /** Skip (and report) bad rows instead of throwing. */
  skipBadRows?: boolean;
  /** The last fraction of the examples becomes the validation set. */
  valFraction?: number;
  /** A separate validation file or folder (same options). */
  valData?: string | string[];
}

/**
 * kept: examples in the dataset (truncated ones included); truncated: of those, cut to maxLength;
 * answersCut: of those, the ones whose last answer lost its end (and so its EOS label); dropped: left out, by reason.
 */
export interface TaskSummary {
  files: Record<string, TaskFormat>;
  rows: number;
  kept: number;
  truncated: number;
  answersCut: number;
  dropped: number;
  droppedBy: Partial<Record<DropReason, number>>;
  skippedRows: number;
  badRows: BadRow[];
  tokens: number;
  /** Labels that are not IGNORE_INDEX (each is a target of the shifted loss except at position 0). */
  labelTokens: number;
  /** Chat turns whose assistant tokens came from tokenizing rendered pieces (see encodeChat). */
  templateFallbacks: number;
  train: number;
  val: number;
}

export interface TaskData {
  train: ArrayDataset;
  val: ArrayDataset | null;
  summary: TaskSummary;
}

/** A tokenized example before length policy: completionStart is where the (last) completion begins. */
export interface EncodedExample {
  ids: number[];
  labels: number[];
  completionStart: number;
}

/** Stanford Alpaca's prompts (train.py PROMPT_DICT), exactly; the output follows "### Response:". */
export const ALPACA_PROMPT_INPUT =
  'Below is an instruction that describes a task, paired with an input that provides further context. ' +
  'Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:';
export const ALPACA_PROMPT_NO_INPUT =
  'Below is an instruction that describes a task. ' +
  'Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\n{instruction}\n\n### Response:';

/** The Alpaca prompt: the with-input template when input is a non-empty string, as Alpaca chooses. */
export function alpacaPrompt(instruction: string, input = ''): string {
  const t = input !== '' ? ALPACA_PROMPT_INPUT : ALPACA_PROMPT_NO_INPUT;
  return t.replace('{instruction}', () => instruction).replace('{input}', () => input);
}

const ROLES = new Set(['system', 'user', 'assistant', 'tool']);
const SHAREGPT_ROLES: Record<string, string> = { human: 'user', user: 'user', gpt: 'assistant', assistant: 'assistant', system: 'system' };
export const DEFAULT_END_OF_TURN = ['<|im_end|>', '<|eot_id|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '</s>'];

/** The loaded, tokenized and length-checked examples of task files, with a summary of what happened. */
export function loadTaskData(path: string | readonly string[], tok: TextTokenizer, opts: TaskOptions): TaskData {
  if (opts.valData !== undefined && opts.valFraction) throw new GptuneError('give either valData or valFraction, not both');
  const main = loadTaskFiles(taskSources(path), tok, opts);
  const s = main.summary;
  if (opts.valData !== undefined) {
    const v = loadTaskFiles(taskSources(opts.valData), tok, opts);
    s.train = main.examples.length;
    s.val = v.examples.length;
    return { train: new ArrayDataset(main.examples), val: new ArrayDataset(v.examples), summary: s };
  }
  const nVal = valCount(main.examples.length, opts.valFraction ?? 0);
  s.train = main.examples.length - nVal;
  s.val = nVal;
  return {
    train: new ArrayDataset(main.examples.slice(0, s.train)),
    val: nVal > 0 ? new ArrayDataset(main.examples.slice(s.train)) : null,
    summary: s,
  };
}

/** A file, a list of files, or a folder's .jsonl/.json files (recursive, sorted). */
export function taskSources(path: string | readonly string[]): string[] {
  const paths = typeof path === 'string' ? [path] : [...path];
  const out: string[] = [];
  for (const p of paths) {
    let st;
    try { st = statSync(p); } catch { throw new GptuneError('no such file or folder', { file: p }); }
    if (!st.isDirectory()) { out.push(p); continue; }
    const files = (readdirSync(p, { recursive: true }) as string[]).filter((f) => !isHiddenOrCache(String(f))).map((f) => join(p, String(f)))
      .filter((f) => ['.jsonl', '.json', '.ndjson'].includes(extname(f).toLowerCase()) && statSync(f).isFile()).sort();
    if (files.length === 0) throw new GptuneError('the folder holds no .jsonl or .json files', { file: p });
    out.push(...files);
  }
  return out;
}

/** One row of a task file after encoding and the length policy: the example kept (maybe cut) or why it was dropped. */
export interface TaskRow {
  /** 0-based over all rows read (as a Hugging Face dataset's index), and where the row is. */
  row: number;
  file: string;
  line: number;
  format: TaskFormat;
  /** The encoded row before the length policy. */
  full: EncodedExample;
  fit: Fit;
  /** Chat turns whose assistant tokens came from tokenizing rendered pieces (see encodeChat). */
  templateFallbacks: number;
}

/**
 * Every row of the files through the one encoding training, evaluation and `data inspect` share:
 * format detection, TaskEncoder.encodeRow, then fitToLength. A bad row throws (file:line), or with
 * skipBadRows goes to bad and is skipped.
 */
export function* taskRows(files: readonly string[], tok: TextTokenizer, opts: TaskOptions, bad: BadRow[] = []): Generator<TaskRow> {
  checkOptions(opts);
  const enc = new TaskEncoder(tok, opts);
  let index = 0;
  for (const file of files) {
    const rows = readRows(file, { skipBadRows: opts.skipBadRows, bad });
    if (rows.length === 0 && !bad.some((b) => b.file === file)) throw new GptuneError('no rows: the file is empty or blank', { file });
    let format: TaskFormat | null = opts.format && opts.format !== 'auto' ? opts.format : null;
    for (const { value, line } of rows) {
      const row = index++;
      let out: TaskRow;
      try {
        format ??= detectTaskFormat(value, file, line);
        const full = enc.encodeRow(format, value, file, line);
        out = { row, file, line, format, full, fit: fitToLength(full, opts.maxLength, opts.truncation ?? 'left', enc.leadingIds.length), templateFallbacks: enc.lastFallbacks };
      } catch (e) {
        if (!(e instanceof GptuneError) || !opts.skipBadRows) throw e;
        bad.push({ file, line, message: e.message });
        continue;
      }
      yield out;
    }
  }
}

function loadTaskFiles(files: string[], tok: TextTokenizer, opts: TaskOptions) {
  const summary: TaskSummary = {
    files: {}, rows: 0, kept: 0, truncated: 0, answersCut: 0, dropped: 0, droppedBy: {}, skippedRows: 0, badRows: [], tokens: 0, labelTokens: 0,
    templateFallbacks: 0, train: 0, val: 0,
  };
  const examples: Example[] = [];
  const bad: BadRow[] = [];
  for (const r of taskRows(files, tok, opts, bad)) {
    summary.files[r.file] = r.format;
    summary.templateFallbacks += r.templateFallbacks;
    const fit = r.fit;
    if (fit.dropped) {
      summary.dropped++;
      summary.droppedBy[fit.dropped] = (summary.droppedBy[fit.dropped] ?? 0) + 1;
      continue;
    }
    if (fit.cut) summary.truncated++;
    if (fit.cut?.answerCut) summary.answersCut++;
    summary.kept++;
    const ex: Example = { inputIds: Int32Array.from(fit.example.ids), labels: Int32Array.from(fit.example.labels) };
    summary.tokens += ex.inputIds.length;
    for (const l of ex.labels) if (l !== IGNORE_INDEX) summary.labelTokens++;
    examples.push(ex);
  }
  summary.rows = summary.kept + summary.dropped + bad.length;
  summary.badRows = bad;
  summary.skippedRows = bad.length;
  if (examples.length === 0) {
    const why = summary.dropped > 0 ? `all ${summary.dropped} were longer than maxLength ${opts.maxLength} (truncation '${opts.truncation ?? 'left'}': ${describeDrops(summary.droppedBy)})` : 'every row was skipped';
    throw new GptuneError(`no examples: ${why}`, { file: files[0] });
  }
  return { examples, summary };
}

/** "3 prompt would vanish, 1 too long" (for logs and errors). */
export function describeDrops(by: Partial<Record<DropReason, number>>): string {
  return Object.entries(by).map(([k, n]) => `${n} ${k.replace(/-/g, ' ')}`).join(', ');
}

function checkOptions(opts: TaskOptions): void {
  if (!Number.isInteger(opts.maxLength) || opts.maxLength < 2) throw new GptuneError(`maxLength must be an integer >= 2, got ${opts.maxLength}`);
  const t = opts.truncation ?? 'left';
  if (!(TRUNCATIONS as readonly string[]).includes(t)) throw new GptuneError(`truncation must be ${TRUNCATIONS.map((x) => `'${x}'`).join(', ')}, got ${describe(t)}`);
}

/** The format a row's keys say: messages, conversations (ShareGPT), instruction+output (Alpaca), prompt+completion. */
export function detectTaskFormat(row: unknown, file?: string, line?: number): TaskFormat {
  const obj = asObject(row, file, line);
  if ('messages' in obj) return 'messages';
  if ('conversations' in obj) return 'sharegpt';
  if ('instruction' in obj || 'output' in obj) return 'alpaca';
  if ('prompt' in obj || 'completion' in obj) return 'prompt-completion';
  throw new GptuneError(`cannot tell the data format from the keys ${Object.keys(obj).map((k) => `"${k}"`).join(', ') || '(none)'}: ` +
    'expected "prompt"/"completion", "instruction"/"input"/"output", "messages" or "conversations"', { file, line });
}

function asObject(row: unknown, file?: string, line?: number): Record<string, unknown> {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) throw new GptuneError(`expected a JSON object, got ${describe(row)}`, { file, line });
  return row as Record<string, unknown>;
}

// Names every missing field at once, then checks each present one is a string.
function stringFields(obj: Record<string, unknown>, required: string[], file: string, line: number): Record<string, string> {
  const missing = required.filter((k) => obj[k] === undefined);
  if (missing.length > 0) throw new GptuneError(`the row is missing ${missing.map((k) => `"${k}"`).join(', ')}`, { file, line });
  const out: Record<string, string> = {};
  for (const k of required) {
    if (typeof obj[k] !== 'string') throw new GptuneError(`"${k}" must be a string, got ${describe(obj[k])}`, { file, line });
    out[k] = obj[k] as string;
  }
  return out;
}

/** ShareGPT {"from","value"} turns as chat messages (human -> user, gpt -> assistant, system -> system). */
export function shareGptToMessages(conversations: unknown, file: string, line: number): ChatMessage[] {
  if (!Array.isArray(conversations)) throw new GptuneError(`"conversations" must be an array, got ${describe(conversations)}`, { file, line });
  return conversations.map((turn, i) => {
    const t = asObject(turn, file, line);
    const f = stringFields(t, ['from', 'value'], file, line);
    const role = SHAREGPT_ROLES[f.from];
    if (role === undefined) {
      throw new GptuneError(`conversations[${i}] has the unknown "from" ${JSON.stringify(f.from)} (known: ${Object.keys(SHAREGPT_ROLES).join(', ')})`, { file, line });
    }
    return { role, content: f.value };
  });
}

function parseMessages(messages: unknown, file: string, line: number): ChatMessage[] {
  if (!Array.isArray(messages)) throw new GptuneError(`"messages" must be an array, got ${describe(messages)}`, { file, line });
  return messages.map((m, i) => {
    const f = stringFields(asObject(m, file, line), ['role', 'content'], file, line);
    if (!ROLES.has(f.role)) {
      throw new GptuneError(`messages[${i}] has the unknown role ${JSON.stringify(f.role)} (known: ${[...ROLES].join(', ')})`, { file, line });
    }
    return { role: f.role, content: f.content };
  });
}

/** Tokenizes rows of any task format with one tokenizer, template and set of options. */
export class TaskEncoder {
  readonly template: ChatTemplate;
  readonly stopIds: Set<number>;
  /** End-of-turn marker texts (endOfTurn and the EOS text): a trained assistant turn ends with one. */
  private readonly markers: string[];
  /** What the tokenizer puts first (BOS or nothing): every row starts with it, once. */
  readonly leadingIds: readonly number[];
  private readonly bosToken: string;
  private readonly eosToken: string;
  /** Fallbacks taken by the last encodeChat call. */
  lastFallbacks = 0;

  constructor(readonly tok: TextTokenizer, readonly opts: Omit<TaskOptions, 'maxLength'> = {}) {
    this.template = opts.chatTemplate ?? ChatTemplate.chatml();
    this.bosToken = opts.bosToken ?? tokenText(tok, tok.bosId);
    this.eosToken = opts.eosToken ?? tokenText(tok, tok.eosId);
    this.stopIds = endOfTurnIds(tok, opts.endOfTurn ?? DEFAULT_END_OF_TURN);
    this.markers = [...(opts.endOfTurn ?? DEFAULT_END_OF_TURN), this.eosToken].filter((m) => m !== '');
    this.leadingIds = leadingSpecialIds(tok);
  }

  encodeRow(format: TaskFormat, row: unknown, file: string, line: number): EncodedExample {
    const obj = asObject(row, file, line);
    this.lastFallbacks = 0;
    switch (format) {
      case 'prompt-completion': {
        const f = stringFields(obj, ['prompt', 'completion'], file, line);
        return this.encodePromptCompletion(f.prompt, f.completion, file, line);
      }
      case 'alpaca': {
        const f = stringFields(obj, ['instruction', 'output'], file, line);
        const input = obj.input ?? '';
        if (typeof input !== 'string') throw new GptuneError(`"input" must be a string, got ${describe(input)}`, { file, line });
        return this.encodePromptCompletion(alpacaPrompt(f.instruction, input), f.output, file, line, 'output');
      }
      case 'messages':
        if (obj.messages === undefined) throw new GptuneError('the row is missing "messages"', { file, line });
        return this.encodeChat(parseMessages(obj.messages, file, line), file, line);
      case 'sharegpt':
        if (obj.conversations === undefined) throw new GptuneError('the row is missing "conversations"', { file, line });
        return this.encodeChat(shareGptToMessages(obj.conversations, file, line), file, line);
    }
  }

  /**
   * The prompt's ids as generate builds them, then the completion's: the rest of the whole text's ids
   * when the prompt's ids begin them (as TRL), else the completion tokenized alone (a prompt ending in a
   * space or newline: inference sees the prompt's own ids, never a token merged across the boundary).
   * Then one EOS unless the completion already ends with it; labels IGNORE_INDEX on the prompt.
   */
  encodePromptCompletion(prompt: string, completion: string, file?: string, line?: number, field = 'completion'): EncodedExample {
    if (completion.trim() === '') throw new GptuneError(`empty ${field}: there is nothing to train on`, { file, line });
    const p = this.encode(prompt);
    const whole = this.encode(prompt + completion);
    const c = isPrefix(p, whole) ? whole.slice(p.length) : this.encode(completion);
    const eos = this.tok.eosId;
    if (eos !== null && c[c.length - 1] !== eos) c.push(eos);
    const ids = [...p, ...c];
    const labels = [...p.map(() => IGNORE_INDEX), ...c];
    return this.withBos({ ids, labels, completionStart: p.length });
  }

  /**
   * A conversation rendered with the chat template; labels only on assistant turns. Each turn's
   * tokens are the difference between the tokenized prefix ending in the generation prompt and the
   * tokenized prefix including the turn. Exactly the rendered text is trained: a turn through its
   * end-of-turn marker (<|im_end|>, <|eot_id|>, the EOS text; one token or several), not the text the
   * template puts after it (a newline); only a turn with no marker at all gets one EOS appended.
   */
  encodeChat(messages: ChatMessage[], file?: string, line?: number): EncodedExample {
    const where = { file, line };
    const turns = messages.flatMap((m, i) => (m.role === 'assistant' ? [i] : []));
    if (turns.length === 0) throw new GptuneError('the conversation has no assistant turn: there is nothing to train on', where);
    for (const i of turns) {
      if (messages[i].content.trim() === '') throw new GptuneError(`empty assistant turn (message ${i}): there is nothing to train on`, where);
    }
    const render = (upTo: number, gen: boolean) => {
      try {
        return this.template.render(messages.slice(0, upTo), { addGenerationPrompt: gen, bosToken: this.bosToken, eosToken: this.eosToken });
      } catch (e) {
        throw new GptuneError(errorMessage(e), where);
      }
    };
    const full = render(messages.length, false);
    // Text spans [start, end) of each assistant turn: from rendering prefixes where the template renders
    // them as prefixes of the whole, else found in the whole render (Qwen3 drops earlier reasoning,
    // Llama 3 templates add a header after every conversation: neither is prefix-stable).
    const spans = (this.prefixSpans(render, full, turns) ?? this.locatedSpans(full, messages, turns, where)).map((s) => this.throughMarker(full, s));
    const pieces = this.tokenSpans(full, spans);
    const chosen = this.opts.assistantTurns === 'last' ? new Set([spans.length - 1]) : null;
    const ids: number[] = [], labels: number[] = [];
    let completionStart = 0;
    for (const piece of pieces) {
      if (piece.turn < 0 || (chosen && !chosen.has(piece.turn))) {
        for (const id of piece.ids) { ids.push(id); labels.push(IGNORE_INDEX); }
        continue;
      }
      completionStart = ids.length;
      for (const id of piece.ids) { ids.push(id); labels.push(id); }
      // A template that writes no end-of-turn marker at all: EOS teaches the model to stop.
      if (!piece.marked && this.tok.eosId !== null) { ids.push(this.tok.eosId); labels.push(this.tok.eosId); }
    }
    return this.withBos({ ids, labels, completionStart });
  }

  // The span cut to end at its end-of-turn marker (<|im_end|>, <|eot_id|>, EOS text...) when only whitespace
  // follows it: the marker is trained, whatever the template writes after it (ChatML's newline) is context.
  // Text, not ids: a multi-token marker (ChatML on a vocabulary without it) is trained whole, no EOS added.
  private throughMarker(full: string, [a, b]: [number, number]): [number, number, boolean] {
    const text = full.slice(a, b);
    let end = -1;
    for (const m of this.markers) {
      const at = text.lastIndexOf(m);
      if (at >= 0 && text.slice(at + m.length).trim() === '' && at + m.length > end) end = at + m.length;
    }
    return end < 0 ? [a, b, false] : [a, a + end, true];
  }

  private prefixSpans(render: (upTo: number, gen: boolean) => string, full: string, turns: number[]): [number, number][] | null {
    const spans: [number, number][] = [];
    for (const i of turns) {
      const before = render(i, true), through = render(i + 1, false);
      if (!through.startsWith(before) || !full.startsWith(through)) return null;
      spans.push([before.length, through.length]);
    }
    return spans;
  }

  // Each assistant message's text found in order in the whole render (as written, else trimmed, as
  // templates such as Qwen3's strip it), extended through an end-of-turn marker that follows it after
  // whitespace only; what the template adds around the text (an empty think block) stays context.
  private locatedSpans(full: string, messages: ChatMessage[], turns: number[], where: { file?: string; line?: number }): [number, number][] {
    const markers = this.markers;
    const spans: [number, number][] = [];
    let cursor = 0;
    for (const i of turns) {
      const text = messages[i].content;
      const found = [text, text.trim()].map((t) => ({ t, at: full.indexOf(t, cursor) })).find((c) => c.at >= 0);
      if (!found) {
        throw new GptuneError(`the chat template renders the conversation's prefixes differently from the whole and does not render ` +
          `assistant message ${i}'s text as written, so its tokens cannot be found`, where);
      }
      let end = found.at + found.t.length;
      const next = markers.map((m) => ({ m, at: full.indexOf(m, end) })).filter((c) => c.at >= 0 && full.slice(end, c.at).trim() === '')
        .sort((a, b) => a.at - b.at)[0];
      if (next) end = next.at + next.m.length;
      spans.push([found.at, end]);
      cursor = end;
    }
    return spans;
  }

  // The ids of the rendered conversation split into pieces at the assistant spans (turn -1: context).
  // First choice: tokenize the whole text and each prefix, and take differences (exact when the
  // tokenizer is prefix-stable). If a prefix's ids are not a prefix of the longer ids (a merge across
  // the boundary), fall back to tokenizing each rendered piece on its own and concatenating.
  private tokenSpans(full: string, spans: [number, number, boolean][]): { ids: number[]; turn: number; marked?: boolean }[] {
    const all = this.encode(full);
    const cuts: number[] = [];
    let ok = true;
    for (const [a, b] of spans) {
      const ta = this.encode(full.slice(0, a)), tb = this.encode(full.slice(0, b));
      const prev = cuts.length > 0 ? cuts[cuts.length - 1] : 0;
      if (!isPrefix(ta, tb) || !isPrefix(tb, all) || ta.length < prev) { ok = false; break; }
      cuts.push(ta.length, tb.length);
    }
    const bounds = ok ? cuts : spans.flatMap(([a, b]) => [a, b]);
    if (!ok) this.lastFallbacks++;
    const out: { ids: number[]; turn: number; marked?: boolean }[] = [];
    let prev = 0;
    const total = ok ? all.length : full.length;
    const take = (from: number, to: number) => (ok ? all.slice(from, to) : this.encode(full.slice(from, to)));
    for (let k = 0; k < bounds.length; k += 2) {
      out.push({ ids: take(prev, bounds[k]), turn: -1 }, { ids: take(bounds[k], bounds[k + 1]), turn: k / 2, marked: spans[k / 2][2] });
      prev = bounds[k + 1];
    }
    out.push({ ids: take(prev, total), turn: -1 });
    return out;
  }

  private encode(text: string): number[] {
    return text === '' ? [] : this.tok.encode(text, { addSpecialTokens: false });
  }

  // The tokenizer's BOS rule (tokenizers/bos.ts), the same generate and serve apply to a prompt.
  private withBos(ex: EncodedExample): EncodedExample {
    const ids = withLeadingSpecial(this.tok, ex.ids);
    const added = ids.length - ex.ids.length;
    if (added === 0) return ex;
    return { ids, labels: [...ids.slice(0, added).map(() => IGNORE_INDEX), ...ex.labels], completionStart: ex.completionStart + added };
  }
}

/** An example within maxLength, with what was cut (null when nothing), or the reason it was dropped. */
export type Fit =
  | { example: EncodedExample; cut: Cut | null; dropped?: undefined }
  | { example?: undefined; cut?: undefined; dropped: DropReason };

/** Tokens removed: from the prompt (left) or the end (right); answerCut: a trained token went, and with it the final EOS. */
export interface Cut {
  side: 'left' | 'right';
  tokens: number;
  answerCut: boolean;
}

/**
 * Applies the length policy (see TRUNCATIONS). head: the leading special ids (BOS) that stay first.
 * 'left' cuts prompt tokens after the head and keeps at least one; when the answer alone leaves no
 * room for any, the row is dropped rather than trained to answer nothing (TRL's keep_end would keep
 * it; LLaMA-Factory's cutoff_len shares the budget instead). 'right' keeps the start and cuts the end,
 * so a cut answer ends without its EOS; a row left with no trained token is dropped.
 */
export function fitToLength(ex: EncodedExample, maxLength: number, policy: Truncation, head = 0): Fit {
  const n = ex.ids.length;
  if (n <= maxLength) return { example: ex, cut: null };
  const excess = n - maxLength;
  if (policy === 'drop') return { dropped: 'too-long' };
  if (policy === 'left') {
    const h = Math.min(head, ex.completionStart);
    if (excess > ex.completionStart - h - 1) return { dropped: 'prompt-would-vanish' };
    const cut = (a: number[]) => [...a.slice(0, h), ...a.slice(h + excess)];
    return { example: { ids: cut(ex.ids), labels: cut(ex.labels), completionStart: ex.completionStart - excess }, cut: { side: 'left', tokens: excess, answerCut: false } };
  }
  const labels = ex.labels.slice(0, maxLength);
  if (labels.every((l) => l === IGNORE_INDEX)) return { dropped: 'no-room-for-answer' };
  const answerCut = ex.labels.slice(maxLength).some((l) => l !== IGNORE_INDEX);
  const example = { ids: ex.ids.slice(0, maxLength), labels, completionStart: Math.min(ex.completionStart, maxLength) };
  return { example, cut: { side: 'right', tokens: excess, answerCut } };
}

/** The ids that end an assistant turn: EOS plus each of the given strings that is one token here. */
export function endOfTurnIds(tok: TextTokenizer, tokens: readonly string[]): Set<number> {
  const out = new Set<number>();
  if (tok.eosId !== null) out.add(tok.eosId);
  for (const s of tokens) {
    const ids = tok.encode(s, { addSpecialTokens: false });
    if (ids.length === 1) out.add(ids[0]);
  }
  return out;
}

function tokenText(tok: TextTokenizer, id: number | null): string {
  if (id === null) return '';
  return tok.idToToken?.(id) ?? tok.decode([id]);
}

function isPrefix(a: readonly number[], b: readonly number[]): boolean {
  if (a.length > b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The example as text with trained spans in [[...]] (for logs and tests). */
export function explainExample(ex: Example, tok: TextTokenizer): string {
  let out = '', i = 0;
  const n = ex.inputIds.length;
  while (i < n) {
    const trained = ex.labels[i] !== IGNORE_INDEX;
    let j = i;
    while (j < n && (ex.labels[j] !== IGNORE_INDEX) === trained) j++;
    const text = tok.decode(Array.from(ex.inputIds.subarray(i, j)));
    out += trained ? `[[${text}]]` : text;
    i = j;
  }
  return out;
}
