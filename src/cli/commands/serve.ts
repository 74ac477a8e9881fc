// gptune serve: parse -> src/run/serve.ts -> listen until SIGTERM / Ctrl-C.
import type { Command } from 'commander';
import { addOptions, readOptions } from '../options.js';
import { SERVE_OPTIONS, runServe } from '../../run/serve.js';

export function registerServe(program: Command): void {
  const cmd = program.command('serve')
    .description('serve a model and its LoRA adapters over an OpenAI-compatible HTTP API (continuous batching)');
  addOptions(cmd, SERVE_OPTIONS, { config: true }).action(async () => {
    const { values: o } = readOptions(cmd, SERVE_OPTIONS);
    const server = await runServe(o);
    const models = [server.served.name, ...server.served.adapters.names].join(', ');
    const where = ['127.0.0.1', 'localhost', '::1'].includes(o.host) ? 'loopback only; --host 0.0.0.0 to expose it' : 'reachable from the network';
    process.stderr.write(`gptune serve: listening on ${server.url} (${where}); models: ${models}\n`);
    await new Promise<void>((done) => {
      const stop = (sig: string) => {
        process.stderr.write(`gptune serve: ${sig}: no new requests; finishing those in flight\n`);
        server.close().then(done, done);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
  });
}
