// `gptune serve` (an OpenAI-compatible server for a model and its LoRA adapters) and `gptune chat`
// (a conversation in the terminal): their options, declared once, and the run each prepares.
import { basename, resolve } from 'node:path';
import { opt, type OptionValues } from './option.js';
import { startServer, SERVER_DEFAULTS, type RunningServer } from '../serve/server.js';
import { SCHEDULER_DEFAULTS } from '../serve/scheduler.js';
import { runChat, type ChatSummary } from '../serve/chat.js';
import { nucleus } from '../serve/openai_api.js';
import type { AdapterSource } from '../lora/multi_lora.js';
import type { Readable, Writable } from 'node:stream';
import { UsageError } from '../util/errors.js';
import { baseQuantOption } from './model.js';

export const SERVE_OPTIONS = {
  model: opt.string({ arg: 'dir', required: true, help: 'Hugging Face model directory' }),
  adapter: opt.list({ arg: 'name=dir', variadic: true, default: [], help: 'LoRA adapters served under NAME (a bare DIR is named after its folder)' }),
  baseQuant: baseQuantOption(),
  name: opt.string({ arg: 'name', defaultRule: 'the directory\'s name', help: 'the base model\'s name in the API' }),
  host: opt.string({ arg: 'host', default: SERVER_DEFAULTS.host, help: 'address to bind (0.0.0.0 exposes the server to the network)' }),
  port: opt.int({ min: 0, max: 65535, default: SERVER_DEFAULTS.port, help: 'port (0: any free port)' }),
  apiKey: opt.string({ arg: 'key', defaultRule: '$GPTUNE_API_KEY, else none', help: 'require "Authorization: Bearer KEY"' }),
  maxBatch: opt.int({ min: 1, default: SCHEDULER_DEFAULTS.maxBatch, help: 'sequences decoded together at most' }),
  maxQueue: opt.int({ min: 0, default: SCHEDULER_DEFAULTS.maxQueue, help: 'requests waiting at most before 429' }),
  maxBodyMb: opt.number({ min: 0.001, default: SERVER_DEFAULTS.maxBodyBytes / 2 ** 20, help: 'largest request body in MiB' }),
};
export type ServeRunOptions = OptionValues<typeof SERVE_OPTIONS>;

/** --adapter NAME=DIR, or DIR (named after its folder). */
export function parseAdapterSpec(spec: string): AdapterSource {
  const eq = spec.indexOf('=');
  const [name, dir] = eq > 0 ? [spec.slice(0, eq), spec.slice(eq + 1)] : [basename(resolve(spec)), spec];
  if (!name || !dir) throw new UsageError(`--adapter takes NAME=DIR, got '${spec}'`);
  return { name, dir };
}

export function runServe(o: ServeRunOptions, env: NodeJS.ProcessEnv = process.env): Promise<RunningServer> {
  return startServer({
    modelDir: o.model, baseQuant: o.baseQuant, adapters: o.adapter.map(parseAdapterSpec), modelName: o.name, host: o.host, port: o.port,
    apiKey: o.apiKey ?? env.GPTUNE_API_KEY, maxBatch: o.maxBatch, maxQueue: o.maxQueue, maxBodyBytes: Math.round(o.maxBodyMb * 2 ** 20),
  });
}

export const CHAT_OPTIONS = {
  model: opt.string({ arg: 'dir', required: true, help: 'Hugging Face model directory' }),
  adapter: opt.string({ arg: 'dir', help: 'a LoRA adapter (PEFT format) to apply' }),
  baseQuant: baseQuantOption(),
  system: opt.string({ arg: 'text', help: 'the system prompt' }),
  maxTokens: opt.int({ min: 1, defaultRule: 'up to the context', help: 'longest reply in tokens' }),
  temperature: opt.number({ min: 0, default: 0, help: 'sampling temperature; 0 is greedy' }),
  topP: opt.number({ min: 0, max: 1, default: 1, help: 'nucleus sampling: keep tokens up to probability p' }),
  seed: opt.int({ min: 0, default: 0, help: 'sampling seed' }),
};
export type ChatRunOptions = OptionValues<typeof CHAT_OPTIONS>;

export interface ChatStreams { input: Readable; output: Writable; info: Writable; interactive: boolean }

export function runChatSession(o: ChatRunOptions, io: ChatStreams): Promise<ChatSummary> {
  return runChat({ modelDir: o.model, baseQuant: o.baseQuant, adapterDir: o.adapter, system: o.system, maxTokens: o.maxTokens, temperature: o.temperature,
    topP: nucleus(o.topP), seed: o.seed, ...io });
}
