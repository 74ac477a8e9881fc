// The studio's data view: a dataset file as the trainer sees it, through `gptune data inspect`'s own
// function (runDataInspect: the trainer's row encoding, truncation, drops and packing), with each
// token's text and whether it is trained, for the page to colour.
import { DATA_INSPECT_OPTIONS, runDataInspect, type InspectSummary } from '../../run/data_inspect.js';
import { resolveOptions, type OptionValues } from '../../run/option.js';
import { IGNORE_INDEX } from '../../data/index.js';
import { readForm } from './option_form.js';

/** Options the page does not offer: --json is the page's own format. */
export const DATA_FORM_OMIT = ['json'] as const;
/** Rows shown when the page gives no --limit: enough to read, few enough for a page. */
const DEFAULT_ROWS = 50;

/** One token: its id, its text alone, and whether it is a target (its label is not -100). */
export interface ViewToken { id: number; text: string; trained: boolean }

export interface ViewRow {
  row: number;
  line?: number;
  file?: string;
  /** Packing: the task rows in this packed row, and each example as [start, end) token offsets. */
  rows?: number[];
  segments?: Array<[number, number]>;
  tokens?: ViewToken[];
  trained?: number;
  truncated?: { policy: string; tokens: number; answer_cut: boolean };
  dropped?: string;
  /** A dropped row's length before the policy. */
  length?: number;
}

export type DataView = { ok: true; summary: InspectSummary; rows: ViewRow[] } | { ok: false; errors: Record<string, string> };

/** Runs data inspect on the fields the page sent; option problems come back by option name. */
export function inspectData(fields: Record<string, unknown>): DataView {
  const { values, errors } = readForm(DATA_INSPECT_OPTIONS, fields, DATA_FORM_OMIT);
  if (Object.keys(errors).length) return { ok: false, errors };
  const o = resolveOptions(DATA_INSPECT_OPTIONS, { flags: values }).values as OptionValues<typeof DATA_INSPECT_OPTIONS>;
  o.limit ??= DEFAULT_ROWS;
  const rows: ViewRow[] = [];
  const summary = runDataInspect(o, (r, tok) => {
    if (r.dropped) { rows.push({ row: r.row, line: r.line, file: r.file, dropped: r.dropped, length: r.tokens }); return; }
    const ids = r.input_ids!, labels = r.labels!;
    const tokens = ids.map((id, i) => ({ id, text: tok.tokenizer.decode([id]), trained: labels[i] !== IGNORE_INDEX }));
    const v: ViewRow = { row: r.row, line: r.line, file: r.file, tokens, trained: tokens.filter((t) => t.trained).length, truncated: r.truncated };
    if (r.position_ids) {
      // Examples start where positions restart (the trainer's packed rows).
      const starts = r.position_ids.flatMap((p, i) => (p === 0 ? [i] : []));
      v.rows = r.rows;
      v.segments = starts.map((s, k) => [s, starts[k + 1] ?? ids.length]);
    }
    rows.push(v);
  });
  return { ok: true, summary, rows };
}
