// gptune chat: parse -> src/run/serve.ts (runChatSession); a terminal gets a prompt, a pipe one conversation.
import type { Command } from 'commander';
import { addOptions, readOptions } from '../options.js';
import { CHAT_OPTIONS, runChatSession } from '../../run/serve.js';

export function registerChat(program: Command): void {
  const cmd = program.command('chat')
    .description('chat with a model in the terminal (streams; /reset, /system TEXT, /save FILE, /exit); reads a conversation from stdin when piped');
  addOptions(cmd, CHAT_OPTIONS).action(async () => {
    const { values: o } = readOptions(cmd, CHAT_OPTIONS);
    const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
    await runChatSession(o, { input: process.stdin, output: process.stdout, info: tty ? process.stdout : process.stderr, interactive: tty });
  });
}
