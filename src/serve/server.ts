// `gptune serve`: an OpenAI-compatible HTTP server on node:http over the continuous-batching
// scheduler. /v1/chat/completions, /v1/completions, /v1/models, /health, /metrics.
import type { BaseQuant } from '../models/load.js';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AdapterSource } from '../lora/multi_lora.js';
import { ApiError, badRequest } from './api_error.js';
import { Metrics } from './metrics.js';
import { QueueFullError, Scheduler, type SequenceHandle, type SequenceRequest, type TokenEvent, type TokenLogprob } from './scheduler.js';
import { chatFormat, encodeChat, loadServedModel, type ServedModel } from './served_model.js';
import {
  chatLogprob, completionLogprobs, openaiFinish, parseChat, parseCompletion, usageOf,
  type ChatParams, type CompletionParams, type GenerationParams,
} from './openai_api.js';
import { errorMessage } from '../util/errors.js';
import { encodePrompt } from '../tokenizers/bos.js';


/** Loopback only, the port (llama.cpp's server's) and the largest request body when the caller gives none. */
export const SERVER_DEFAULTS = { host: '127.0.0.1', port: 8080, maxBodyBytes: 1 << 20 } as const;
export interface ServeOptions {
  modelDir: string;
  /** Quantize the base's linear weights at load (--base-quant). */
  baseQuant?: BaseQuant;
  adapters?: readonly AdapterSource[];
  /** The base model's name in the API (default: the directory's name). */
  modelName?: string;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** When set, every /v1 request needs `Authorization: Bearer KEY`. */
  apiKey?: string;
  maxBatch?: number;
  maxQueue?: number;
  /** Largest request body accepted, in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** On close, how long in-flight requests may take to finish before they are cancelled (ms). */
  shutdownGraceMs?: number;
  /** A loaded model to serve instead of reading modelDir (tests, embedding). */
  served?: ServedModel;
}

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  served: ServedModel;
  scheduler: Scheduler;
  /** Stops accepting, lets in-flight requests finish (up to the grace time, then cancels them). */
  close(): Promise<void>;
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const served = opts.served ?? loadServedModel({ modelDir: opts.modelDir, baseQuant: opts.baseQuant, adapters: opts.adapters, name: opts.modelName });
  const tok = served.tokenizer;
  const decode = tok ? (ids: readonly number[]) => tok.decode(ids) : null;
  const scheduler = new Scheduler(served.model, served.adapters, decode, { maxBatch: opts.maxBatch, maxQueue: opts.maxQueue });
  const metrics = new Metrics();
  scheduler.onTokens = (n) => metrics.countTokens(n);
  const maxBody = opts.maxBodyBytes ?? SERVER_DEFAULTS.maxBodyBytes;
  const created = Math.floor(Date.now() / 1000);
  let closing = false;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (closing) throw new ApiError(503, 'the server is shutting down', 'server_error');
    if (path === '/health' && req.method === 'GET') return sendJson(res, 200, { status: 'ok' });
    if (path === '/metrics' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(metrics.render({ promptTokens: scheduler.promptTokens, generatedTokens: scheduler.tokensGenerated, queued: scheduler.queued, running: scheduler.active }));
      return 200;
    }
    if (!path.startsWith('/v1/')) throw new ApiError(404, `no route ${req.method} ${path}`, 'invalid_request_error', null, 'not_found');
    checkKey(req, opts.apiKey);
    if (path === '/v1/models' && req.method === 'GET') {
      const entry = (id: string, parent: string | null) => ({ id, object: 'model', created, owned_by: 'gptune', root: parent ?? id, parent });
      return sendJson(res, 200, { object: 'list', data: [entry(served.name, null), ...served.adapters.names.map((n) => entry(n, served.name))] });
    }
    const chat = path === '/v1/chat/completions', completion = path === '/v1/completions';
    if (!chat && !completion) throw new ApiError(404, `no route ${req.method} ${path}`, 'invalid_request_error', null, 'not_found');
    if (req.method !== 'POST') throw new ApiError(405, `${path} takes POST, not ${req.method}`);
    const body = await readJson(req, maxBody);
    const params = chat ? parseChat(body) : parseCompletion(body);
    return generateResponse(served, scheduler, params, chat, req, res);
  };

  const server = createServer((req, res) => {
    const endpoint = (req.url ?? '/').split('?')[0];
    handle(req, res).then((status) => metrics.countRequest(endpoint, status), (e) => {
      const err = e instanceof ApiError ? e : new ApiError(500, `internal error: ${errorMessage(e)}`, 'server_error');
      metrics.countRequest(endpoint, err.status);
      if (res.headersSent) { res.end(); return; } // mid-stream: nothing more can be said in-band
      sendJson(res, err.status, err.body());
    });
  });
  server.requestTimeout = 0; // long generations stream for as long as they take
  const host = opts.host ?? SERVER_DEFAULTS.host;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? SERVER_DEFAULTS.port, host, () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`, host, port, served, scheduler,
    close: async () => {
      if (closing) return;
      closing = true;
      const stopped = new Promise<void>((r) => server.close(() => r()));
      const grace = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), opts.shutdownGraceMs ?? 10_000).unref());
      if (await Promise.race([scheduler.whenIdle(), grace]) === 'timeout') scheduler.cancelAll();
      await scheduler.whenIdle();
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 1000).unref();
      await stopped;
    },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): number {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
  return status;
}

function checkKey(req: IncomingMessage, key: string | undefined): void {
  if (key === undefined) return;
  const auth = req.headers.authorization ?? '';
  const given = Buffer.from(auth.startsWith('Bearer ') ? auth.slice(7) : '');
  const want = Buffer.from(key);
  if (given.length !== want.length || !timingSafeEqual(given, want)) {
    throw new ApiError(401, auth ? 'Incorrect API key provided' : 'Missing API key: send "Authorization: Bearer KEY"', 'invalid_request_error', null, 'invalid_api_key');
  }
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) { req.resume(); throw new ApiError(413, `the request body (${declared} bytes) is over the limit of ${limit} bytes`, 'invalid_request_error', null, 'request_too_large'); }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) { req.resume(); throw new ApiError(413, `the request body is over the limit of ${limit} bytes`, 'invalid_request_error', null, 'request_too_large'); }
    chunks.push(c as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    throw badRequest(`the request body is not valid JSON: ${errorMessage(e)}`);
  }
}

/** The model field: the base model's name or an adapter's. */
function adapterIndex(served: ServedModel, model: string): number {
  if (model === served.name) return -1;
  const i = served.adapters.indexOf(model);
  if (i < 0) {
    const known = [served.name, ...served.adapters.names].map((n) => `'${n}'`).join(', ');
    throw new ApiError(404, `The model '${model}' does not exist (this server has ${known})`, 'invalid_request_error', 'model', 'model_not_found');
  }
  return i;
}

function promptIds(served: ServedModel, params: ChatParams | CompletionParams, chat: boolean, adapter: number): number[] {
  const tok = served.tokenizer;
  if (chat) return encodeChat(served, (params as ChatParams).messages, adapter);
  const p = (params as CompletionParams).prompt;
  if (typeof p === 'string') {
    if (!tok) throw badRequest(`the model '${served.name}' has no tokenizer: give the prompt as token ids`, 'prompt');
    return encodePrompt(tok, p);
  }
  const V = served.model.vocabSize;
  const bad = p.find((id) => id >= V);
  if (bad !== undefined) throw badRequest(`prompt token id ${bad} is outside the vocabulary (0..${V - 1})`, 'prompt');
  return p;
}

async function generateResponse(served: ServedModel, scheduler: Scheduler, params: GenerationParams, chat: boolean,
  req: IncomingMessage, res: ServerResponse): Promise<number> {
  const adapter = adapterIndex(served, params.model);
  if (chat && !served.tokenizer) throw badRequest(`the model '${served.name}' has no tokenizer files; chat needs one`, 'messages');
  const prompt = promptIds(served, params as ChatParams | CompletionParams, chat, adapter);
  const chatFmt = chatFormat(served, adapter);
  const ctx = served.model.maxPositions;
  const param = chat ? 'messages' : 'prompt';
  if (prompt.length >= ctx) throw badRequest(`the prompt has ${prompt.length} tokens; the model's context is ${ctx} tokens, which leaves no room to generate`, param, 'context_length_exceeded');
  if (params.maxTokens !== null && prompt.length + params.maxTokens > ctx) {
    throw badRequest(`the prompt (${prompt.length} tokens) plus max_tokens (${params.maxTokens}) is ${prompt.length + params.maxTokens} tokens, more than the model's context of ${ctx} tokens`, 'max_tokens', 'context_length_exceeded');
  }
  const tok = served.tokenizer;
  const tokenText = (id: number) => (tok ? tok.decode([id]) : String(id));
  const id = `${chat ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`;
  const created = Math.floor(Date.now() / 1000);
  const object = chat ? 'chat.completion' : 'text_completion';
  const chunkObject = chat ? 'chat.completion.chunk' : 'text_completion'; // completions stream the same object
  const logprobs: TokenLogprob[] = [];
  let textSoFar = '';

  const stream = params.stream;
  const send = (chunk: unknown) => { if (!res.writableEnded) res.write(`data: ${JSON.stringify(chunk)}\n\n`); };
  const chunkOf = (choice: Record<string, unknown>) => ({ id, object: chunkObject, created, model: params.model, system_fingerprint: null, choices: [{ index: 0, ...choice }], ...(params.includeUsage ? { usage: null } : {}) });
  const onToken = (e: TokenEvent) => {
    if (e.logprob) logprobs.push(e.logprob);
    if (!stream) return;
    if (!e.text && !e.logprob) return;
    if (chat) send(chunkOf({ delta: e.text ? { content: e.text } : {}, logprobs: e.logprob ? { content: [chatLogprob(e.logprob, tokenText)] } : null, finish_reason: null }));
    else send(chunkOf({ text: e.text, logprobs: e.logprob ? completionLogprobs([e.logprob], tokenText, textSoFar.length) : null, finish_reason: null }));
    textSoFar += e.text;
  };
  const request: SequenceRequest = {
    prompt, adapter,
    maxNewTokens: params.maxTokens ?? ctx - prompt.length,
    limitReason: params.maxTokens === null ? 'context' : 'length',
    sampling: { temperature: params.temperature, topP: params.topP, seed: params.seed ?? randomBytes(4).readUInt32LE() },
    eosIds: chat ? chatFmt.stopIds : served.eosIds,
    stopStrings: [...params.stop, ...(chat ? chatFmt.stopStrings : [])],
    topLogprobs: params.topLogprobs, onToken,
  };
  let handle: SequenceHandle;
  try {
    handle = scheduler.submit(request);
  } catch (e) {
    if (e instanceof QueueFullError) throw new ApiError(429, e.message, 'rate_limit_exceeded', null, 'rate_limit_exceeded');
    throw e;
  }
  // A client that goes away cancels its sequence (its cache is freed at the next step).
  res.on('close', () => { if (!res.writableFinished) handle.cancel(); });
  if (stream) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    if (chat) send(chunkOf({ delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }));
  }
  const result = await handle.done;
  if (result.finishReason === 'cancelled') { res.end(); return 499; }
  const finish = openaiFinish(result.finishReason);
  const usage = usageOf(result.promptTokens, result.completionTokens);
  if (stream) {
    send(chunkOf(chat ? { delta: {}, logprobs: null, finish_reason: finish } : { text: '', logprobs: null, finish_reason: finish }));
    if (params.includeUsage) send({ id, object: chunkObject, created, model: params.model, system_fingerprint: null, choices: [], usage });
    res.end('data: [DONE]\n\n');
    return 200;
  }
  const choice = chat
    ? { index: 0, message: { role: 'assistant', content: result.text, refusal: null }, logprobs: params.topLogprobs === null ? null : { content: logprobs.map((l) => chatLogprob(l, tokenText)), refusal: null }, finish_reason: finish }
    : { index: 0, text: result.text, logprobs: params.topLogprobs === null ? null : completionLogprobs(logprobs, tokenText, 0), finish_reason: finish };
  return sendJson(res, 200, { id, object, created, model: params.model, system_fingerprint: null, choices: [choice], usage });
}
