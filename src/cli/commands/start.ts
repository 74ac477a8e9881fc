// gptune start (`npm start`): the demo, a preset of train (src/run/start.ts).
import type { Command } from 'commander';
import { addOptions, readOptions } from '../options.js';
import { START_OPTIONS, startPreset, runStart } from '../../run/start.js';

export function registerStart(program: Command): void {
  const cmd = program.command('start')
    .description('the demo: LoRA fine-tune the shipped GPT on a support-desk dataset and report before/after (offline, about a minute); every train option applies');
  addOptions(cmd, START_OPTIONS, { config: true }).action(async () => {
    const { values } = readOptions(cmd, START_OPTIONS, startPreset());
    await runStart(values, console.log);
  });
}
