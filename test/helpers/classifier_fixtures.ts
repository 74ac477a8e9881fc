// The classifier fixtures of test/fixtures/enc/eval (made by scripts/fixtures/make_classification_eval_fixtures.py
// with HF's tokenizer, models, pipelines and scikit-learn), and variants that differ only in config.json.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturePath } from './fixtures.js';
import { tempDir } from './temp_dir.js';

export const EVAL_DIR = fixturePath('enc', 'eval');
export const TOKENIZER = join(EVAL_DIR, 'tokenizer');
export const SEQCLS = join(EVAL_DIR, 'bert-seqcls-sharp');
export const REGRESSION = join(EVAL_DIR, 'bert-regression');

export function golden(name: string): any {
  return JSON.parse(readFileSync(join(EVAL_DIR, `${name}_golden.json`), 'utf8'));
}

export function evalData(name: string): string {
  return join(EVAL_DIR, `${name}.jsonl`);
}

export function jsonlRows(file: string): any[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** A temporary copy of a model folder with config.json changed (the same weights, other labels or problem_type). */
export function withConfig(dir: string, change: (c: Record<string, unknown>) => void): string {
  const out = tempDir('cls-');
  copyFileSync(join(dir, 'model.safetensors'), join(out, 'model.safetensors'));
  const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  change(c);
  writeFileSync(join(out, 'config.json'), JSON.stringify(c, null, 2));
  return out;
}

/** bert-tokcls with IOB2 names (O, B-PER, I-PER), as the generator relabelled it. */
export function iobTokenClassifier(): string {
  const names = ['O', 'B-PER', 'I-PER'];
  return withConfig(fixturePath('enc', 'bert-tokcls'), (c) => {
    c.id2label = Object.fromEntries(names.map((n, i) => [String(i), n]));
    c.label2id = Object.fromEntries(names.map((n, i) => [n, i]));
  });
}

/** The sharp sequence classifier read as multi-label (sigmoid per label, BCE). */
export function multiLabelClassifier(): string {
  return withConfig(SEQCLS, (c) => { c.problem_type = 'multi_label_classification'; });
}
