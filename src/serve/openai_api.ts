// OpenAI's request bodies checked into typed parameters (a wrong type names its field), and the
// response and stream-chunk objects built in OpenAI's shapes for chat and completions.
import type { ChatMessage } from '../tokenizers/chat_template.js';
import type { FinishReason } from '../generate/stop_strings.js';
import type { TokenLogprob } from './scheduler.js';
import { badRequest } from './api_error.js';

export interface GenerationParams {
  model: string;
  /** max_tokens / max_completion_tokens; null: up to the context. */
  maxTokens: number | null;
  temperature: number;
  topP: number;
  seed: number | undefined;
  stop: string[];
  /** Alternatives per token when logprobs are on; null when off. */
  topLogprobs: number | null;
  stream: boolean;
  includeUsage: boolean;
}

export interface ChatParams extends GenerationParams { messages: ChatMessage[] }
export interface CompletionParams extends GenerationParams { prompt: string | number[] }

type Body = Record<string, unknown>;

export function asBody(v: unknown): Body {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw badRequest('the request body must be a JSON object');
  return v as Body;
}

const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function num(b: Body, key: string, { min = -Infinity, max = Infinity, int = false } = {}): number | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || (int && !Number.isInteger(v))) {
    throw badRequest(`'${key}' must be ${int ? 'an integer' : 'a number'}, got ${typeName(v)} ${JSON.stringify(v)}`, key);
  }
  if (v < min || v > max) throw badRequest(`'${key}' must be in [${min}, ${max}], got ${v}`, key);
  return v;
}

function bool(b: Body, key: string): boolean | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badRequest(`'${key}' must be a boolean, got ${typeName(v)}`, key);
  return v;
}

function common(b: Body, topLogprobs: number | null): GenerationParams {
  if (typeof b.model !== 'string' || b.model === '') throw badRequest(`'model' must be a non-empty string, got ${typeName(b.model)}`, 'model');
  const n = num(b, 'n', { int: true, min: 1 });
  if (n !== undefined && n !== 1) throw badRequest(`'n' ${n} is not supported: gptune returns one choice per request (n = 1)`, 'n');
  for (const key of ['presence_penalty', 'frequency_penalty']) {
    const v = num(b, key, { min: -2, max: 2 });
    if (v !== undefined && v !== 0) throw badRequest(`'${key}' is not supported (give 0 or leave it out)`, key);
  }
  let stop: string[] = [];
  if (typeof b.stop === 'string') stop = [b.stop];
  else if (Array.isArray(b.stop)) {
    if (b.stop.length > 4 || b.stop.some((s) => typeof s !== 'string')) throw badRequest("'stop' must be a string or a list of up to 4 strings", 'stop');
    stop = b.stop as string[];
  } else if (b.stop !== undefined && b.stop !== null) throw badRequest(`'stop' must be a string or a list of strings, got ${typeName(b.stop)}`, 'stop');
  const so = b.stream_options;
  if (so !== undefined && so !== null && (typeof so !== 'object' || Array.isArray(so))) throw badRequest("'stream_options' must be an object", 'stream_options');
  const includeUsage = so ? bool(so as Body, 'include_usage') ?? false : false;
  const maxTokens = num(b, 'max_completion_tokens', { int: true, min: 1 }) ?? num(b, 'max_tokens', { int: true, min: 1 }) ?? null;
  return {
    model: b.model, maxTokens,
    temperature: num(b, 'temperature', { min: 0, max: 2 }) ?? 1,
    topP: nucleus(num(b, 'top_p', { min: 0, max: 1 })),
    seed: num(b, 'seed', { int: true }),
    stop: stop.filter((s) => s !== ''), topLogprobs, stream: bool(b, 'stream') ?? false, includeUsage,
  };
}

/** top_p 0 keeps only the most likely token (OpenAI accepts 0; the sampler wants p > 0). */
export const nucleus = (p: number | undefined): number => (p === undefined ? 1 : p === 0 ? Number.MIN_VALUE : p);

export function parseChat(raw: unknown): ChatParams {
  const b = asBody(raw);
  if (!Array.isArray(b.messages) || b.messages.length === 0) throw badRequest("'messages' must be a non-empty list of {role, content}", 'messages');
  const messages = b.messages.map((m, i): ChatMessage => {
    const where = `messages[${i}]`;
    if (m === null || typeof m !== 'object') throw badRequest(`'${where}' must be an object {role, content}`, where);
    const { role, content } = m as Body;
    if (typeof role !== 'string' || role === '') throw badRequest(`'${where}.role' must be a string`, `${where}.role`);
    if (typeof content === 'string') return { role, content };
    if (content === null || content === undefined) return { role, content: '' };
    // Content parts: text only (a model without a vision encoder).
    if (Array.isArray(content)) {
      return { role, content: content.map((p, j) => {
        const part = p as Body;
        if (part?.type !== 'text' || typeof part.text !== 'string') throw badRequest(`'${where}.content[${j}]' must be {"type": "text", "text": ...} (only text is supported)`, `${where}.content`);
        return part.text;
      }).join('') };
    }
    throw badRequest(`'${where}.content' must be a string or a list of text parts, got ${typeName(content)}`, `${where}.content`);
  });
  const logprobs = bool(b, 'logprobs') ?? false;
  const top = num(b, 'top_logprobs', { int: true, min: 0, max: 20 });
  if (top !== undefined && !logprobs) throw badRequest("'top_logprobs' needs 'logprobs': true", 'top_logprobs');
  return { ...common(b, logprobs ? top ?? 0 : null), messages };
}

export function parseCompletion(raw: unknown): CompletionParams {
  const b = asBody(raw);
  let prompt: string | number[];
  const p = b.prompt;
  const one = Array.isArray(p) && p.length === 1 ? p[0] : p; // a list of one prompt is that prompt
  if (typeof one === 'string') prompt = one;
  else if (Array.isArray(one) && one.length > 0 && one.every((x) => Number.isInteger(x) && (x as number) >= 0)) prompt = one as number[];
  else if (Array.isArray(p) && p.length > 1 && p.every((x) => typeof x === 'string' || Array.isArray(x))) throw badRequest("'prompt' with several prompts is not supported; send one per request", 'prompt');
  else throw badRequest(`'prompt' must be a string or a list of token ids, got ${typeName(p)}`, 'prompt');
  if (prompt.length === 0) throw badRequest("'prompt' is empty", 'prompt');
  if (bool(b, 'echo')) throw badRequest("'echo' is not supported", 'echo');
  if (b.suffix !== undefined && b.suffix !== null) throw badRequest("'suffix' is not supported", 'suffix');
  const logprobs = num(b, 'logprobs', { int: true, min: 0, max: 20 });
  const params = { ...common(b, logprobs ?? null), prompt };
  if (b.max_tokens === undefined && b.max_completion_tokens === undefined) params.maxTokens = 16; // OpenAI's default for completions
  return params;
}

/** OpenAI has no finish reason for a full context; clients know it as 'length'. */
export const openaiFinish = (r: FinishReason): 'stop' | 'length' => (r === 'stop' ? 'stop' : 'length');

export interface Usage { prompt_tokens: number; completion_tokens: number; total_tokens: number }
export const usageOf = (prompt: number, completion: number): Usage => ({ prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion });

/** Chat's logprobs.content entry for one token. */
export function chatLogprob(lp: TokenLogprob, text: (id: number) => string) {
  const entry = (id: number, logprob: number) => {
    const token = text(id);
    return { token, logprob, bytes: [...Buffer.from(token, 'utf8')] };
  };
  return { ...entry(lp.id, lp.logprob), top_logprobs: lp.top.map((t) => entry(t.id, t.logprob)) };
}

/** The legacy completions logprobs object for a list of tokens. */
export function completionLogprobs(lps: TokenLogprob[], text: (id: number) => string, offset0: number) {
  const tokens = lps.map((l) => text(l.id));
  const offsets: number[] = [];
  let at = offset0;
  for (const t of tokens) { offsets.push(at); at += t.length; }
  return {
    tokens, token_logprobs: lps.map((l) => l.logprob), text_offset: offsets,
    top_logprobs: lps.map((l) => Object.fromEntries(l.top.map((t) => [text(t.id), t.logprob]))),
  };
}
