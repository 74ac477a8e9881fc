// gptune serve: an OpenAI-compatible server for a model directory and any number of LoRA adapters.
import type { Command } from 'commander';
import { basename, resolve } from 'node:path';
import { num, UsageError } from '../errors.js';
import { startServer } from '../../serve/server.js';
import type { AdapterSource } from '../../lora/multi_lora.js';

interface ServeFlags {
  model: string; adapter: string[]; host: string; port: number; apiKey?: string; name?: string;
  maxBatch: number; maxQueue: number; maxBodyMb: number;
}

/** --adapter NAME=DIR, or DIR (named after its folder). */
export function parseAdapterFlag(spec: string): AdapterSource {
  const eq = spec.indexOf('=');
  const [name, dir] = eq > 0 ? [spec.slice(0, eq), spec.slice(eq + 1)] : [basename(resolve(spec)), spec];
  if (!name || !dir) throw new UsageError(`--adapter takes NAME=DIR, got '${spec}'`);
  return { name, dir };
}

export function registerServe(program: Command): void {
  program.command('serve')
    .description('serve a model and its LoRA adapters over an OpenAI-compatible HTTP API (continuous batching)')
    .requiredOption('--model <dir>', 'Hugging Face model directory')
    .option('--adapter <name=dir>', 'a LoRA adapter served under NAME (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--name <name>', 'the base model\'s name in the API (default: the directory\'s name)')
    .option('--host <host>', 'address to bind (0.0.0.0 exposes the server to the network)', '127.0.0.1')
    .option('--port <n>', 'port (0: any free port)', num('--port', { int: true, min: 0, max: 65535 }), 8080)
    .option('--api-key <key>', 'require "Authorization: Bearer KEY" (default: $GPTUNE_API_KEY, else none)')
    .option('--max-batch <n>', 'sequences decoded together at most', num('--max-batch', { int: true, min: 1 }), 16)
    .option('--max-queue <n>', 'requests waiting at most before 429', num('--max-queue', { int: true, min: 0 }), 64)
    .option('--max-body-mb <n>', 'largest request body in MiB', num('--max-body-mb', { min: 0.001 }), 1)
    .action((f: ServeFlags) => runServe(f));
}

async function runServe(f: ServeFlags): Promise<void> {
  const server = await startServer({
    modelDir: f.model, adapters: f.adapter.map(parseAdapterFlag), modelName: f.name, host: f.host, port: f.port,
    apiKey: f.apiKey ?? process.env.GPTUNE_API_KEY, maxBatch: f.maxBatch, maxQueue: f.maxQueue, maxBodyBytes: Math.round(f.maxBodyMb * 2 ** 20),
  });
  const models = [server.served.name, ...server.served.adapters.names].join(', ');
  const where = ['127.0.0.1', 'localhost', '::1'].includes(f.host) ? 'loopback only; --host 0.0.0.0 to expose it' : 'reachable from the network';
  process.stderr.write(`gptune serve: listening on ${server.url} (${where}); models: ${models}\n`);
  await new Promise<void>((done) => {
    const stop = (sig: string) => {
      process.stderr.write(`gptune serve: ${sig}: no new requests; finishing those in flight\n`);
      server.close().then(done, done);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
