// One answer to "what kind of data is this?" for train, eval and start: task rows (prompt/completion,
// Alpaca, chat, ShareGPT: loss on the answers) or a corpus (raw text or token ids: loss on everything).
import { closeSync, openSync, readSync } from 'node:fs';
import { GptuneError } from '../util/errors.js';
import { listSources } from './corpus.js';
import { readRows } from './jsonl.js';
import { detectTaskFormat, type TaskFormat } from './task.js';
import { classificationRowKind } from './classification.js';
import type { CorpusFormat } from './corpus.js';

export type DataFormat = TaskFormat | CorpusFormat | 'auto';
export const DATA_FORMATS: readonly DataFormat[] = ['auto', 'text', 'jsonl-text', 'jsonl-ids', 'prompt-completion', 'alpaca', 'messages', 'sharegpt'];
const TASK_FORMATS: readonly string[] = ['prompt-completion', 'alpaca', 'messages', 'sharegpt'];

export type DataKind = 'task' | 'corpus';

/** 'task' when the format says so, or (auto) when the first JSON row has task keys; else 'corpus'. */
export function detectDataKind(path: string, format: DataFormat = 'auto'): DataKind {
  if (TASK_FORMATS.includes(format)) return 'task';
  if (format !== 'auto') return 'corpus';
  const jsonFile = listSources(path).find((f) => /\.(jsonl|json|ndjson)$/i.test(f));
  if (!jsonFile) return 'corpus';
  const row = firstRow(jsonFile);
  if (!row || typeof row !== 'object' || Array.isArray(row)) return 'corpus';
  try {
    detectTaskFormat(row, jsonFile, 1);
    return 'task';
  } catch (e) {
    if (e instanceof GptuneError) return 'corpus';
    throw e;
  }
}

/** The first row of a JSONL file (read from its first 1 MB) or of a JSON array; null when unreadable. */
function firstRow(file: string): unknown {
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(1 << 20);
  let n: number;
  try {
    n = readSync(fd, buf, 0, buf.length, 0);
  } finally {
    closeSync(fd);
  }
  const head = buf.subarray(0, n).toString('utf8').replace(/^\uFEFF/, '');
  if (head.trimStart().startsWith('[')) return readRows(file)[0]?.value ?? null;
  const line = head.split('\n').find((l) => l.trim());
  try {
    return line ? JSON.parse(line) : null;
  } catch {
    return null; // the loader reports the bad row with its line
  }
}

/** Labelled data for an encoder head: a .csv file, or JSON rows with a label (or tokens + tags); else null. */
export function detectClassificationData(file: string): 'csv' | NonNullable<ReturnType<typeof classificationRowKind>> | null {
  if (/\.csv$/i.test(file)) return 'csv';
  return classificationRowKind(firstRow(file));
}
