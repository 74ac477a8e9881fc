// Generation-based task evaluation: greedy answers for held-out prompts, scored against the
// reference completion by exact match, contains-answer and ROUGE-L (src/eval/metrics.ts).
import type { CausalLM } from '../models/causal_lm.js';
import type { LoadedTokenizer } from '../tokenizers/load.js';
import { ChatTemplate, type ChatMessage } from '../tokenizers/chat_template.js';
import { alpacaPrompt, detectTaskFormat, readRows, shareGptToMessages } from '../data/index.js';
import { generate } from '../generate/generate.js';
import { encodePrompt } from '../tokenizers/bos.js';
import { containsAnswer, exactMatch, rougeL } from './metrics.js';

export interface TaskCase {
  prompt: string;
  reference: string;
  /** The key phrase contains-answer looks for (the row's "answer", else the reference). */
  answer: string;
}

export interface TaskSample { prompt: string; reference: string; prediction: string }

export interface TaskScores {
  n: number;
  exactMatch: number;
  containsAnswer: number;
  rougeL: number;
  /** Prompts longer than the context allows, cut from the left as training cuts them. */
  truncated: number;
  samples: TaskSample[];
}

/** The prompt text and reference answer of each task row (prompt/completion, Alpaca, chat). */
export function readTaskCases(file: string, chatTemplate: string | null, tokenizerText: { bos?: string; eos?: string } = {}): TaskCase[] {
  const rows = readRows(file);
  const template = chatTemplate ? new ChatTemplate(chatTemplate) : ChatTemplate.chatml();
  return rows.map(({ value, line }) => {
    const r = value as Record<string, unknown>;
    const format = detectTaskFormat(r, file, line);
    let prompt: string, reference: string;
    if (format === 'prompt-completion') {
      prompt = String(r.prompt);
      reference = String(r.completion);
    } else if (format === 'alpaca') {
      prompt = alpacaPrompt(String(r.instruction), typeof r.input === 'string' ? r.input : '');
      reference = String(r.output);
    } else {
      const messages: ChatMessage[] = format === 'messages' ? (r.messages as ChatMessage[]) : shareGptToMessages(r.conversations, file, line);
      const last = messages.map((m) => m.role).lastIndexOf('assistant');
      if (last < 0) throw new Error(`${file}:${line}: the conversation has no assistant turn to score`);
      prompt = template.render(messages.slice(0, last), { addGenerationPrompt: true, bosToken: tokenizerText.bos, eosToken: tokenizerText.eos });
      reference = messages[last].content;
    }
    return { prompt, reference, answer: typeof r.answer === 'string' ? r.answer : reference };
  });
}

export function scoreTask(model: CausalLM, tok: LoadedTokenizer, cases: readonly TaskCase[], { maxNewTokens, eosIds = [] as readonly number[], stopStrings = ['\n'] as readonly string[], samples = 3 }: { maxNewTokens: number; eosIds?: readonly number[]; stopStrings?: readonly string[]; samples?: number }): TaskScores {
  let em = 0, contains = 0, rouge = 0;
  const kept: TaskSample[] = [];
  // Samples spread over the file (consecutive rows tend to ask the same thing).
  const sampleAt = new Set(Array.from({ length: Math.min(samples, cases.length) }, (_, i) => Math.floor((i * cases.length) / samples)));
  // A prompt keeps its last tokens and leaves room to answer (training's left truncation).
  const room = Math.max(1, Math.min(maxNewTokens, Math.floor(model.maxPositions / 4)));
  let truncated = 0;
  for (const [i, c] of cases.entries()) {
    let ids = encodePrompt(tok.tokenizer, c.prompt);
    if (ids.length > model.maxPositions - room) {
      ids = ids.slice(ids.length - (model.maxPositions - room));
      truncated++;
    }
    const r = generate(model, ids, { maxNewTokens, eosIds, stopStrings, decode: (x) => tok.tokenizer.decode(x) });
    const prediction = (r.text ?? '').trim();
    em += exactMatch(prediction, c.reference);
    contains += containsAnswer(prediction, c.answer);
    rouge += rougeL(prediction, c.reference);
    if (sampleAt.has(i)) kept.push({ prompt: c.prompt, reference: c.reference.trim(), prediction });
  }
  const n = Math.max(1, cases.length);
  return { n: cases.length, exactMatch: em / n, containsAnswer: contains / n, rougeL: rouge / n, truncated, samples: kept };
}

export function evaluateTask(model: CausalLM, tok: LoadedTokenizer, file: string, opts: { maxNewTokens: number; limit?: number; /** What ends an answer: src/run/model.ts eosIdsOf. */ eosIds: readonly number[] }): TaskScores {
  const eos = tok.tokenizer.eosId;
  const text = { bos: tok.tokenizer.bosId !== null ? tok.tokenizer.idToToken(tok.tokenizer.bosId) : undefined, eos: eos !== null ? tok.tokenizer.idToToken(eos) : undefined };
  let cases = readTaskCases(file, tok.chatTemplate, text);
  if (opts.limit) cases = cases.slice(0, opts.limit);
  return scoreTask(model, tok, cases, { maxNewTokens: opts.maxNewTokens, eosIds: opts.eosIds });
}
