// gptune chat: talk to a model (and optionally an adapter) in the terminal, or pipe a conversation in.
import type { Command } from 'commander';
import { num } from '../errors.js';
import { runChat } from '../../serve/chat.js';
import { nucleus } from '../../serve/openai_api.js';

interface ChatFlags { model: string; adapter?: string; system?: string; maxTokens?: number; temperature: number; topP?: number; seed: number }

export function registerChat(program: Command): void {
  program.command('chat')
    .description('chat with a model in the terminal (streams; /reset, /system TEXT, /save FILE, /exit); reads a conversation from stdin when piped')
    .requiredOption('--model <dir>', 'Hugging Face model directory')
    .option('--adapter <dir>', 'a LoRA adapter (PEFT format) to apply')
    .option('--system <text>', 'the system prompt')
    .option('--max-tokens <n>', 'longest reply in tokens (default: up to the context)', num('--max-tokens', { int: true, min: 1 }))
    .option('--temperature <t>', 'sampling temperature; 0 is greedy', num('--temperature', { min: 0 }), 0)
    .option('--top-p <p>', 'nucleus sampling: keep tokens up to probability p', num('--top-p', { min: 0, max: 1 }))
    .option('--seed <s>', 'sampling seed', num('--seed', { int: true, min: 0 }), 0)
    .action(async (f: ChatFlags) => {
      const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
      await runChat({ modelDir: f.model, adapterDir: f.adapter, system: f.system, maxTokens: f.maxTokens, temperature: f.temperature,
        topP: nucleus(f.topP), seed: f.seed, input: process.stdin, output: process.stdout, info: tty ? process.stdout : process.stderr, interactive: tty });
    });
}
