// `gptune data inspect`: each task row exactly as training sees it (input_ids, labels with -100 where
// nothing is trained, position_ids when packed, what truncation cut or dropped), through the same row
// encoding as train (data/task.ts taskRows) and the same packing and collation, so a user can diff it
// against TRL's prepared dataset.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { opt, type OptionValues } from './option.js';
import { MAX_DEFAULT_SEQ_LEN, TRAIN_OPTIONS } from './train_options.js';
import { taskEncoding } from './model.js';
import { IGNORE_INDEX, collate, explainExample, defaultPadId, firstFitPack, taskRows, taskSources, type DropReason, type Example, type TaskFormat, type TaskSummary, type TaskRow, type Truncation } from '../data/index.js';
import { loadTokenizerDir, resolveTokenizer, type LoadedTokenizer } from '../tokenizers/load.js';
import { ModelConfig } from '../formats/hf_config.js';
import { readJsonObject } from '../util/json_file.js';
import { UsageError } from '../util/errors.js';

const TASK_FORMATS = ['auto', 'prompt-completion', 'alpaca', 'messages', 'sharegpt'] as const;
// --max-length defaults as train's: the model's context up to train's --seq-len cap.
const MAX_DEFAULT_LENGTH = MAX_DEFAULT_SEQ_LEN;

export const DATA_INSPECT_OPTIONS = {
  model: opt.string({ arg: 'dir', help: 'a model directory: its tokenizer, chat template and context length' }),
  tokenizer: opt.string({ arg: 'name|dir', help: 'a built-in tokenizer (gpt2) or a tokenizer directory (instead of the model\'s)' }),
  data: opt.string({ arg: 'path', required: true, help: 'task rows: a .jsonl/.json file or a folder of them' }),
  format: opt.choice(TASK_FORMATS, { default: 'auto', help: 'task data format' }),
  maxLength: opt.int({ min: 2, defaultRule: `the model's context, at most ${MAX_DEFAULT_LENGTH} (as train's --seq-len); ${MAX_DEFAULT_LENGTH} with --tokenizer alone`, help: 'longest example in tokens' }),
  truncation: TRAIN_OPTIONS.truncation,
  packing: opt.bool({ default: false, help: 'show packed rows (first-fit in file order; training shuffles first) with position_ids' }),
  limit: opt.int({ min: 1, help: 'print at most this many rows' }),
  json: opt.bool({ default: false, help: 'one JSON object per row: {"row", "input_ids", "labels" (-100: not trained), ...}' }),
};
export type DataInspectRunOptions = OptionValues<typeof DATA_INSPECT_OPTIONS>;

/** One printed row: a task row (or, with packing, a packed row and the task rows in it). */
export interface InspectedRow {
  row: number;
  /** Where the task row is (not for packed rows). */
  line?: number;
  file?: string;
  /** Packing: the task rows in this packed row, in order. */
  rows?: number[];
  input_ids?: number[];
  labels?: number[];
  position_ids?: number[];
  truncated?: { policy: Truncation; tokens: number; answer_cut: boolean };
  dropped?: DropReason;
  /** A dropped row's length before the policy. */
  tokens?: number;
}

/** The training loader's counts over the rows read, plus what inspect adds. */
export interface InspectSummary extends Pick<TaskSummary, 'rows' | 'kept' | 'truncated' | 'answersCut' | 'dropped' | 'droppedBy'> {
  packedRows?: number;
  maxLength: number;
}

/** Encodes the rows as train does and hands each printed row to emit; returns the counts. loaded: the tokenizer already read (tests). */
export function runDataInspect(o: DataInspectRunOptions, emit: (r: InspectedRow, tok: LoadedTokenizer) => void, loaded?: LoadedTokenizer): InspectSummary {
  if (o.model === undefined && o.tokenizer === undefined) throw new UsageError('give --model or --tokenizer');
  const tok = loaded ?? (o.tokenizer !== undefined ? resolveTokenizer(o.tokenizer) : loadTokenizerDir(o.model!));
  if (!tok) throw new UsageError(`${o.model} has no tokenizer files (tokenizer.json, or vocab.json + merges.txt): give --tokenizer`);
  const maxLength = o.maxLength ?? Math.min(MAX_DEFAULT_LENGTH, o.model !== undefined ? modelContext(o.model) ?? MAX_DEFAULT_LENGTH : MAX_DEFAULT_LENGTH);
  const truncation = o.truncation as Truncation;
  const rows = taskRows(taskSources(o.data), tok.tokenizer, { maxLength, truncation, format: o.format as TaskFormat | 'auto', ...taskEncoding(tok) });
  const s: InspectSummary = { rows: 0, kept: 0, truncated: 0, answersCut: 0, dropped: 0, droppedBy: {}, maxLength };
  const limit = o.limit ?? Infinity;
  const kept: { row: number; ex: Example }[] = [];
  let printed = 0;
  for (const r of rows) {
    count(s, r);
    if (o.packing) {
      if (r.fit.example) kept.push({ row: r.row, ex: { inputIds: Int32Array.from(r.fit.example.ids), labels: Int32Array.from(r.fit.example.labels) } });
      else if (printed < limit) { emit(dropped(r), tok); printed++; }
      continue;
    }
    emit(r.fit.dropped ? dropped(r) : {
      row: r.row, line: r.line, file: r.file, input_ids: r.fit.example.ids, labels: r.fit.example.labels,
      ...(r.fit.cut ? { truncated: { policy: truncation, tokens: r.fit.cut.tokens, answer_cut: r.fit.cut.answerCut } } : {}),
    }, tok);
    if (++printed >= limit) return s; // the counts then cover the rows read so far
  }
  if (o.packing) {
    // The trainer's packing and collation (data/batches.ts): first-fit rows, positions restart, each example's first label ignored.
    const p = firstFitPack(kept.map((k) => k.ex.inputIds.length), maxLength);
    s.packedRows = p.rowStart.length - 1;
    for (let r = 0; r < s.packedRows && printed < limit; r++, printed++) {
      const members = Array.from(p.order.subarray(p.rowStart[r], p.rowStart[r + 1]), (i) => kept[i]);
      const b = collate([members.map((m) => m.ex)], { padId: defaultPadId(tok.tokenizer), packed: true });
      emit({ row: r, rows: members.map((m) => m.row), input_ids: Array.from(b.inputIds), labels: Array.from(b.labels), position_ids: Array.from(b.positions!) }, tok);
    }
  }
  return s;
}

function count(s: InspectSummary, r: TaskRow): void {
  s.rows++;
  if (r.fit.dropped) {
    s.dropped++;
    s.droppedBy[r.fit.dropped] = (s.droppedBy[r.fit.dropped] ?? 0) + 1;
    return;
  }
  s.kept++;
  if (r.fit.cut) s.truncated++;
  if (r.fit.cut?.answerCut) s.answersCut++;
}

function dropped(r: TaskRow): InspectedRow {
  return { row: r.row, line: r.line, file: r.file, dropped: r.fit.dropped, tokens: r.full.ids.length };
}

/** config.json's context length (max_position_embeddings or GPT-2's n_positions), when it says one. */
function modelContext(dir: string): number | undefined {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) return undefined;
  const c = new ModelConfig(readJsonObject(path), path);
  return c.optInt('max_position_embeddings') ?? c.optInt('n_positions');
}

/** The row as text with trained tokens in [[...]] (packed rows: one line per example). */
export function renderRow(r: InspectedRow, tok: LoadedTokenizer): string {
  const where = r.line !== undefined ? `row ${r.row} (line ${r.line})` : `packed row ${r.row} (rows ${r.rows!.join(', ')})`;
  if (r.dropped) return `${where}: dropped, ${r.dropped.replace(/-/g, ' ')} (${r.tokens} tokens)\n`;
  const note = r.truncated ? `, truncated ${r.truncated.policy}: ${r.truncated.tokens} tokens cut${r.truncated.answer_cut ? ', the answer\'s end (no EOS trained)' : ''}` : '';
  const ids = r.input_ids!, labels = r.labels!;
  // Pieces start where positions restart (packing) or at 0.
  const starts = r.position_ids ? r.position_ids.flatMap((p, i) => (p === 0 ? [i] : [])) : [0];
  const pieces = starts.map((a, k) => explainExample({ inputIds: Int32Array.from(ids.slice(a, starts[k + 1])), labels: Int32Array.from(labels.slice(a, starts[k + 1])) }, tok.tokenizer));
  return `${where}: ${ids.length} tokens, ${labels.filter((l) => l !== IGNORE_INDEX).length} trained${note}\n${pieces.map((p) => `  ${JSON.stringify(p)}\n`).join('')}`;
}
