// gptune predict: parse -> src/run/predict.ts -> print (JSONL with --json, else one line per input).
import type { Command } from 'commander';
import { addOptions, readOptions } from '../options.js';
import { PREDICT_OPTIONS, runPredict, type Prediction } from '../../run/predict.js';

export function registerPredict(program: Command): void {
  const cmd = program.command('predict')
    .description('label texts with a classifier: labels with probabilities (sequence heads) or a tag per word (token heads)');
  addOptions(cmd, PREDICT_OPTIONS).action(() => {
    const { values: o } = readOptions(cmd, PREDICT_OPTIONS);
    const preds = runPredict(o);
    for (const p of preds) process.stdout.write((o.json ? JSON.stringify(p) : predictionLine(p)) + '\n');
  });
}

const f3 = (x: number) => x.toFixed(3);

/** `pos 0.912  <the text>`; token heads: `word/TAG` for each word. */
export function predictionLine(p: Prediction): string {
  if (p.words) return p.words.map((w) => `${w.word}/${w.label}`).join(' ') + (p.truncated ? '  (cut)' : '');
  const input = p.text !== undefined ? p.text + (p.text_pair !== undefined ? ` | ${p.text_pair}` : '') : p.input_ids ? `[${p.input_ids.join(' ')}]` : '';
  const shown = input.length > 80 ? input.slice(0, 77) + '...' : input;
  let out: string;
  if (p.value !== undefined) out = p.value.toFixed(4);
  else if (p.values) out = Object.entries(p.values).map(([n, v]) => `${n} ${v.toFixed(4)}`).join(', ');
  else if (p.scores) out = p.labels!.length ? p.labels!.map((l) => `${l.label} ${f3(l.score)}`).join(', ') : '(no label)';
  else out = p.labels!.map((l) => `${l.label} ${f3(l.score)}`).join(', ');
  return `${out}\t${shown}`;
}
