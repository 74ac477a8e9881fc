#!/usr/bin/env node
// The `gptune` command: a table of subcommands, each in commands/<name>.ts (parse -> src/run -> print).
// Failures print one line and exit non-zero; --verbose adds the stack.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { packagePath } from '../util/package_root.js';
import { reportError } from './errors.js';
import { registerGenerate } from './commands/generate.js';
import { registerTokenize } from './commands/tokenize.js';
import { registerEval } from './commands/eval.js';
import { registerTrain } from './commands/train.js';
import { registerMerge } from './commands/merge.js';
import { registerTokenizerTrain } from './commands/tokenizer_train.js';
import { registerStart } from './commands/start.js';
import { registerCache } from './commands/cache.js';
import { registerServe } from './commands/serve.js';
import { registerChat } from './commands/chat.js';
import { registerExport } from './commands/export.js';
import { registerStudio } from './commands/studio.js';
import { registerData } from './commands/data.js';
import { registerPredict } from './commands/predict.js';

export function buildProgram(): Command {
  const program = new Command('gptune')
    .description('Fine-tune GPT-style language models on a CPU: Hugging Face formats, LoRA in PEFT\'s format, native kernels.')
    .version((JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version, '--version', 'print gptune\'s version')
    .option('--verbose', 'print stack traces and the resolved configuration')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ outputError: (str, write) => write(`gptune: ${str.replace(/^error: /, 'error: ')}`) });
  registerStart(program);
  registerTrain(program);
  registerGenerate(program);
  registerEval(program);
  registerPredict(program);
  registerMerge(program);
  registerTokenize(program);
  registerTokenizerTrain(program);
  registerCache(program);
  registerServe(program);
  registerChat(program);
  registerExport(program);
  registerStudio(program);
  registerData(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return 0;
    if (typeof code === 'string' && code.startsWith('commander.')) return 2; // commander already printed it
    return reportError(e, argv.includes('--verbose') || process.env.GPTUNE_VERBOSE === '1');
  }
}

main(process.argv).then((code) => { process.exitCode = code || process.exitCode; }); // a stopped run sets its own code
