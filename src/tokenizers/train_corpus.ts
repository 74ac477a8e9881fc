// Training text for `gptune tokenizer train --data PATH`: a text file (one text per line, '\n' kept,
// as HF's tokenizer.train(files) reads it), a JSONL file ({"text": ...} per row), or a folder of them.
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { GptuneError, errorMessage } from '../util/errors.js';

const TEXT_EXTS = new Set(['.txt', '.text', '.md']);
const JSONL_EXTS = new Set(['.jsonl', '.ndjson']);

/** The files a --data path names: the file itself, or a folder's .txt/.md/.jsonl files (recursively, sorted, hidden ones skipped). */
export function listCorpusFiles(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new GptuneError(`cannot read: ${errorMessage(e)}`, { file: path });
  }
  if (!st.isDirectory()) return [path];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith('.')) continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (TEXT_EXTS.has(extname(name).toLowerCase()) || JSONL_EXTS.has(extname(name).toLowerCase())) out.push(p);
    }
  };
  walk(path);
  if (out.length === 0) throw new GptuneError(`no ${[...TEXT_EXTS, ...JSONL_EXTS].join('/')} files in this folder`, { file: path });
  return out;
}

/** Lines of a file, each with its '\n' (the last may lack one), read in 1 MiB chunks. */
export async function* readLines(file: string): AsyncGenerator<string> {
  // A long line's earlier chunks wait in parts, so a huge line costs one join, not a copy per chunk.
  let parts: string[] = [];
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream) {
      const s = chunk as string;
      let nl = s.indexOf('\n');
      if (nl < 0) { parts.push(s); continue; }
      parts.push(s.slice(0, nl + 1));
      yield parts.join('');
      let start = nl + 1;
      for (nl = s.indexOf('\n', start); nl >= 0; nl = s.indexOf('\n', start)) {
        yield s.slice(start, nl + 1);
        start = nl + 1;
      }
      parts = start < s.length ? [s.slice(start)] : [];
    }
  } catch (e) {
    throw new GptuneError(`cannot read: ${errorMessage(e)}`, { file });
  } finally {
    stream.destroy();
  }
  if (parts.length) yield parts.join('');
}

/** The "text" field of each JSONL row (blank lines skipped); a row without one is an error naming its line. */
export async function* readJsonlTexts(file: string, textKey = 'text'): AsyncGenerator<string> {
  let line = 0;
  for await (const raw of readLines(file)) {
    line++;
    if (raw.trim() === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(raw);
    } catch (e) {
      throw new GptuneError(`invalid JSON: ${errorMessage(e)}`, { file, line });
    }
    const text = typeof row === 'object' && row !== null ? (row as Record<string, unknown>)[textKey] : undefined;
    if (typeof text !== 'string') throw new GptuneError(`expected an object with a string "${textKey}" field`, { file, line });
    yield text;
  }
}

/** Every training text under path, in file order. */
export async function* readTrainingTexts(path: string, opts: { textKey?: string } = {}): AsyncGenerator<string> {
  for (const file of listCorpusFiles(path)) {
    if (JSONL_EXTS.has(extname(file).toLowerCase())) yield* readJsonlTexts(file, opts.textKey);
    else yield* readLines(file);
  }
}
