// gptune eval: parse -> src/run/eval.ts -> print.
import type { Command } from 'commander';
import { addOptions, readOptions } from '../options.js';
import { EVAL_OPTIONS, runEval } from '../../run/eval.js';
import { formatClassificationEval } from './eval_classification_print.js';

export function registerEval(program: Command): void {
  const cmd = program.command('eval')
    .description('loss and perplexity of a model on a file (--task: also exact match, contains-answer, ROUGE-L of generated answers); a classifier: loss, accuracy, F1, confusion matrix');
  addOptions(cmd, EVAL_OPTIONS).action(() => {
    const { values: o } = readOptions(cmd, EVAL_OPTIONS);
    const r = runEval(o);
    if (o.json) {
      process.stdout.write(JSON.stringify(r) + '\n');
      return;
    }
    if ('head' in r) {
      console.log(formatClassificationEval(r));
      return;
    }
    console.log(`loss ${r.loss.toFixed(4)}  perplexity ${r.perplexity.toFixed(3)}  over ${r.tokens} target tokens`);
    const t = r.task;
    if (t) console.log(`task: exact match ${(100 * t.exactMatch).toFixed(1)}%  contains answer ${(100 * t.containsAnswer).toFixed(1)}%  ROUGE-L ${t.rougeL.toFixed(3)}  over ${t.n} prompts${t.truncated ? ` (${t.truncated} cut from the left to fit the context)` : ''}`);
  });
}
