// gptune train: parse -> src/run/train.ts -> print.
import type { Command } from 'commander';
import { join } from 'node:path';
import { addOptions, readOptions } from '../options.js';
import { TRAIN_OPTIONS } from '../../run/train_options.js';
import { runTraining } from '../../run/train.js';
import { runExitCode, runStatus } from '../../train/run_output.js';

export function registerTrain(program: Command): void {
  const cmd = program.command('train')
    .description('train a model: from scratch, on raw text, or on a task (full fine-tuning or LoRA)');
  addOptions(cmd, TRAIN_OPTIONS, { config: true }).action(async () => {
    const { values: o } = readOptions(cmd, TRAIN_OPTIONS);
    const verbose = program.opts().verbose === true;
    const { summary, prepared } = await runTraining(o, console.log, undefined);
    if (prepared.dist && !prepared.dist.isRoot) return; // under MPI rank 0 alone reports
    if (verbose) console.log('config: ' + JSON.stringify(prepared.resolved));
    const fmt = (x: number | null) => (x === null ? '-' : x.toFixed(4));
    console.log(`${summary.interrupted ? runStatus(summary) : 'done'}: ${summary.steps} steps, ${summary.tokens.toLocaleString()} tokens in ${summary.elapsedS.toFixed(1)}s; ` +
      `final loss ${fmt(summary.finalLoss)}, eval loss ${fmt(summary.finalEvalLoss)} (best ${fmt(summary.bestEvalLoss)}${summary.bestStep !== null ? ` at step ${summary.bestStep}` : ''})` +
      `${summary.perplexity !== null ? `, perplexity ${summary.perplexity.toFixed(2)}` : ''}`);
    const ar = summary.allreduce;
    if (ar && ar.steps > 0) {
      console.log(`allreduce on ${prepared.dist!.size} ranks: ${(ar.bytesPerStep / 1e6).toFixed(1)} MB per step in ${ar.buckets} bucket(s), ` +
        `${(ar.waitMs / ar.steps).toFixed(1)} ms per step waited after backward`);
    }
    const what = prepared.method === 'full' ? 'model' : 'LoRA adapter';
    if (summary.interrupted) {
      console.log(`no final ${what} written to ${o.out}; its checkpoint-${summary.steps} continues with --resume`);
      process.exitCode = runExitCode(summary);
    } else console.log(`saved the ${what} to ${o.out} (loss chart: ${join(o.out, 'loss_chart.svg')})`);
  });
}
