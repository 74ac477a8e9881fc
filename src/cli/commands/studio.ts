// gptune studio: parse -> src/run/studio.ts -> serve the page until SIGTERM / Ctrl-C.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { addOptions, readOptions } from '../options.js';
import { STUDIO_OPTIONS, runStudio } from '../../run/studio.js';

export function registerStudio(program: Command): void {
  const cmd = program.command('studio')
    .description('a local web page with every run under --runs (config, status, live curves of loss, eval loss, learning rate) and a playground where the base model and the runs\' LoRA adapters answer side by side');
  addOptions(cmd, STUDIO_OPTIONS).action(async () => {
    const { values: o } = readOptions(cmd, STUDIO_OPTIONS);
    const studio = await runStudio(o);
    const where = ['127.0.0.1', 'localhost', '::1'].includes(o.host) ? 'loopback only; --host 0.0.0.0 to expose it' : 'reachable from the network';
    process.stderr.write(`gptune studio: open ${studio.url} (${where}); runs under ${resolve(o.runs)}\n`);
    await new Promise<void>((done) => {
      const stop = () => { studio.close().then(done, done); };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
  });
}
