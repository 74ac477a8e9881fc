// The dataset scripts' shared tail: rows as JSONL text, a set of files written into a folder (each
// atomically), and running the script's main as a command that prints GptuneErrors without a stack.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GptuneError } from '../../src/util/errors.js';
import { writeFileAtomicSync } from '../../src/util/fs_atomic.js';

/** One JSON object a line, each line ending in a newline. */
export function toJsonl(rows: readonly object[]): string {
  return rows.map((r) => JSON.stringify(r) + '\n').join('');
}

/** Writes name -> text into out (created if missing); each file by temporary name then rename. */
export function writeDataFiles(out: string, files: Record<string, string>): void {
  mkdirSync(out, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileAtomicSync(join(out, name), text);
}

/** Runs main(argv) when moduleUrl (the caller's import.meta.url) is the script node was started with. */
export function runIfMain(moduleUrl: string, main: (argv: string[]) => void): void {
  if (process.argv[1] === undefined || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error(e instanceof GptuneError ? `error: ${e.message}` : e);
    process.exit(1);
  }
}
