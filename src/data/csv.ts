// CSV with a header row (RFC 4180): fields split on commas, quoted fields may hold commas, newlines and
// doubled quotes; CRLF or LF line ends. Each record keeps the line it starts on, for error messages.
import { readFileSync } from 'node:fs';
import { GptuneError } from '../util/errors.js';

export interface CsvRecord {
  /** Column name -> field. */
  fields: Record<string, string>;
  /** 1-based line where the record starts. */
  line: number;
}

export function readCsv(file: string): { header: string[]; records: CsvRecord[] } {
  const text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  const raw = parseCsv(text, file);
  if (raw.length === 0) throw new GptuneError('empty CSV file: expected a header row', { file });
  const header = raw[0].cells.map((h) => h.trim());
  const records: CsvRecord[] = [];
  for (const r of raw.slice(1)) {
    if (r.cells.length === 1 && r.cells[0] === '') continue;   // blank line
    if (r.cells.length !== header.length) throw new GptuneError(`expected ${header.length} fields (${header.join(',')}), got ${r.cells.length}`, { file, line: r.line });
    const fields: Record<string, string> = {};
    header.forEach((h, i) => { fields[h] = r.cells[i]; });
    records.push({ fields, line: r.line });
  }
  return { header, records };
}

export function parseCsv(text: string, file = 'CSV'): { cells: string[]; line: number }[] {
  const out: { cells: string[]; line: number }[] = [];
  let cells: string[] = [], cell = '', line = 1, start = 1, i = 0, quoted = false, wasQuoted = false;
  const endCell = () => { cells.push(cell); cell = ''; wasQuoted = false; };
  const endRecord = () => { endCell(); out.push({ cells, line: start }); cells = []; };
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { cell += '"'; i += 2; continue; }
        quoted = false; i++; continue;
      }
      if (c === '\n') line++;
      cell += c; i++; continue;
    }
    if (c === '"') {
      if (cell !== '' || wasQuoted) throw new GptuneError('a quote inside an unquoted field (quote the whole field and double the quote)', { file, line });
      quoted = true; wasQuoted = true; i++; continue;
    }
    if (c === ',') { endCell(); i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') i++;
    if (c === '\n' || c === '\r') { endRecord(); line++; start = line; i++; continue; }
    if (wasQuoted) throw new GptuneError('text after a closing quote', { file, line });
    cell += c; i++;
  }
  if (quoted) throw new GptuneError('a quoted field is not closed', { file, line: start });
  if (cell !== '' || cells.length > 0 || wasQuoted) endRecord();
  return out;
}
