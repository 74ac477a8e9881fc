// `gptune chat`: a conversation in the terminal. Each reply streams as it is generated, the whole
// conversation goes through the model's chat template every turn, and /reset, /system, /save, /exit
// manage it. Without a terminal it reads one conversation from stdin (a user turn per line).
import type { BaseQuant } from '../models/load.js';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { ChatMessage } from '../tokenizers/chat_template.js';
import { writeFileAtomicSync } from '../util/fs_atomic.js';
import { GptuneError } from '../util/errors.js';
import { Scheduler } from './scheduler.js';
import { chatFormat, encodeChat, loadServedModel, type ServedModel } from './served_model.js';

export interface ChatOptions {
  modelDir: string;
  /** Quantize the base's linear weights at load (--base-quant). */
  baseQuant?: BaseQuant;
  adapterDir?: string;
  system?: string;
  maxTokens?: number;
  /** 0 (default) is greedy. */
  temperature?: number;
  topP?: number;
  seed?: number;
  input: Readable;
  output: Writable;
  /** Where the tokens/s lines and notices go (the output in a terminal, stderr otherwise). */
  info: Writable;
  /** Show a prompt and colours (a terminal). */
  interactive: boolean;
}

export interface ChatSummary {
  messages: ChatMessage[];
  turns: number;
}

export async function runChat(opts: ChatOptions): Promise<ChatSummary> {
  const served = loadServedModel({ modelDir: opts.modelDir, baseQuant: opts.baseQuant, adapters: opts.adapterDir ? [{ name: 'adapter', dir: opts.adapterDir }] : [] });
  if (!served.tokenizer) throw new GptuneError(`${opts.modelDir} has no tokenizer files; chat needs one`);
  const tok = served.tokenizer;
  const scheduler = new Scheduler(served.model, served.adapters, (ids) => tok.decode(ids), { maxBatch: 1, maxQueue: 1 });
  let system = opts.system;
  let turns: ChatMessage[] = [];
  let count = 0;
  const out = (s: string) => opts.output.write(s);
  const info = (s: string) => opts.info.write(opts.interactive ? `\x1b[2m${s}\x1b[0m\n` : `${s}\n`);
  const conversation = (): ChatMessage[] => [...(system ? [{ role: 'system', content: system }] : []), ...turns];
  if (opts.interactive) info(`chatting with ${served.name}${opts.adapterDir ? ` + ${opts.adapterDir}` : ''}; /reset, /system TEXT, /save FILE, /exit`);

  const rl = createInterface({ input: opts.input, terminal: opts.interactive, output: opts.interactive ? opts.output : undefined });
  if (opts.interactive) { rl.setPrompt('> '); rl.prompt(); }
  for await (const raw of rl) {
    const line = raw.trimEnd();
    if (line.startsWith('/')) {
      const [cmd, ...rest] = line.split(' ');
      const arg = rest.join(' ').trim();
      if (cmd === '/exit' || cmd === '/quit') break;
      else if (cmd === '/reset') { turns = []; info('(conversation cleared)'); }
      else if (cmd === '/system') { system = arg || undefined; turns = []; info(arg ? '(system prompt set; conversation cleared)' : '(system prompt removed; conversation cleared)'); }
      else if (cmd === '/save') {
        if (!arg) info('usage: /save FILE');
        else { writeFileAtomicSync(arg, JSON.stringify({ messages: conversation() }, null, 2) + '\n'); info(`(saved ${conversation().length} messages to ${arg})`); }
      } else info(`unknown command ${cmd} (/reset, /system TEXT, /save FILE, /exit)`);
    } else if (line.trim() !== '') {
      turns.push({ role: 'user', content: line });
      const reply = await replyTo(served, scheduler, conversation(), opts, out, info);
      if (reply === null) turns.pop();
      else { turns.push({ role: 'assistant', content: reply }); count++; }
    }
    if (opts.interactive) rl.prompt();
  }
  rl.close();
  return { messages: conversation(), turns: count };
}

/** Streams one assistant reply; null when the conversation no longer fits the context. */
async function replyTo(served: ServedModel, scheduler: Scheduler, messages: ChatMessage[], opts: ChatOptions,
  out: (s: string) => void, info: (s: string) => void): Promise<string | null> {
  const adapter = served.adapters.names.length ? 0 : -1;
  const prompt = encodeChat(served, messages, adapter);
  const fmt = chatFormat(served, adapter);
  const ctx = served.model.maxPositions;
  if (prompt.length >= ctx) {
    info(`(the conversation is ${prompt.length} tokens, the model's context is ${ctx}: /reset to start over)`);
    return null;
  }
  const room = ctx - prompt.length;
  const maxNew = Math.min(opts.maxTokens ?? room, room);
  const t0 = performance.now();
  const h = scheduler.submit({
    prompt, adapter, maxNewTokens: maxNew,
    limitReason: maxNew === room ? 'context' : 'length',
    sampling: { temperature: opts.temperature ?? 0, topP: opts.topP ?? 1, seed: opts.seed ?? 0 },
    eosIds: fmt.stopIds, stopStrings: fmt.stopStrings, topLogprobs: null,
    onToken: (e) => { if (e.text) out(e.text); },
  });
  const r = await h.done;
  out('\n');
  const secs = (performance.now() - t0) / 1000;
  const why = r.finishReason === 'context' ? '; stopped at the context limit' : r.finishReason === 'length' ? '; stopped at max tokens' : '';
  info(`(${r.completionTokens} tokens, ${(r.completionTokens / secs).toFixed(1)} tokens/s${why})`);
  return r.text;
}
