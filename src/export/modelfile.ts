// The Ollama Modelfile written beside an exported GGUF: FROM (and ADAPTER), a TEMPLATE in Ollama's Go
// template syntax for the chat formats gptune recognises, and PARAMETER stop for end-of-turn tokens.
import { basename, dirname, join, relative } from 'node:path';
import { writeFileAtomicSync } from '../util/fs_atomic.js';
import type { LoadedTokenizer } from '../tokenizers/load.js';

interface ChatFormat { template: string; stops: string[] }

const CHATML: ChatFormat = {
  template: '{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n',
  stops: ['<|im_end|>'],
};
const LLAMA3: ChatFormat = {
  template: '{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n',
  stops: ['<|eot_id|>'],
};

/** The chat format a Jinja chat template writes, recognised by its turn markers; null when unknown. */
export function chatFormatOf(chatTemplate: string | null): ChatFormat | null {
  if (chatTemplate === null) return null;
  if (chatTemplate.includes('<|im_start|>')) return CHATML;
  if (chatTemplate.includes('<|start_header_id|>')) return LLAMA3;
  return null;
}

export interface ModelfileOptions {
  /** The GGUF (or base GGUF, for an adapter) to name in FROM. */
  from: string;
  /** The adapter GGUF to name in ADAPTER. */
  adapter?: string;
  tokenizer: LoadedTokenizer | null;
  eosIds: number[];
}

/** Modelfile text; paths are written relative to the Modelfile's folder (Ollama resolves them so). */
export function modelfileText(dir: string, opts: ModelfileOptions): string {
  const rel = (p: string) => { const r = relative(dir, p); return r.startsWith('.') || r.startsWith('/') ? r : `./${r}`; };
  const lines = [`FROM ${rel(opts.from)}`];
  if (opts.adapter) lines.push(`ADAPTER ${rel(opts.adapter)}`);
  const format = chatFormatOf(opts.tokenizer?.chatTemplate ?? null);
  if (format) lines.push(`TEMPLATE """${format.template}"""`);
  const stops = new Set(format?.stops ?? []);
  for (const id of opts.eosIds) {
    const t = opts.tokenizer?.tokenizer.idToToken(id);
    if (t !== undefined && opts.tokenizer!.tokenizer.isSpecial(id)) stops.add(t);
  }
  for (const s of stops) lines.push(`PARAMETER stop ${JSON.stringify(s)}`);
  return lines.join('\n') + '\n';
}

/** Writes <out without .gguf>.Modelfile and returns its path. */
export function writeModelfile(out: string, opts: ModelfileOptions): string {
  const path = join(dirname(out), `${basename(out).replace(/\.gguf$/i, '')}.Modelfile`);
  writeFileAtomicSync(path, modelfileText(dirname(out), opts));
  return path;
}
