// The studio's playground: the base model and the LoRA adapters of the runs, behind gptune serve's
// own OpenAI server (same scheduler, so the base and the adapters answer in one batch), started on
// loopback when first asked for and rebuilt when the runs' adapters change. The studio forwards /v1/*.
import { existsSync } from 'node:fs';
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { startServer, type RunningServer } from '../server.js';
import { loadServedModel } from '../served_model.js';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from '../../formats/peft_adapter.js';
import { readJsonObject } from '../../util/json_file.js';
import type { RunInfo } from './runs.js';

/** The base model's name in the playground (the API's `model` field); adapters go by their run's id. */
export const BASE_NAME = 'base';

export interface PlaygroundAdapter { name: string; dir: string; base: string | null }

/** Finished LoRA runs: the run folder holds adapter_config.json and the adapter's weights. */
export function runAdapters(runs: readonly RunInfo[]): PlaygroundAdapter[] {
  return runs.filter((r) => existsSync(join(r.dir, ADAPTER_CONFIG_FILE)) && existsSync(join(r.dir, ADAPTER_WEIGHTS_FILE))).map((r) => {
    let base: string | null = null;
    try {
      const b = readJsonObject(join(r.dir, ADAPTER_CONFIG_FILE)).base_model_name_or_path;
      base = typeof b === 'string' && b ? b : null;
    } catch { /* an unreadable config: AdapterSet.load names it if it is served */ }
    return { name: r.id, dir: r.dir, base };
  });
}

export interface PlaygroundState { model: string | null; adapters: PlaygroundAdapter[]; skipped: string[] }

/**
 * The base (--model, else the base the newest adapter names) and the adapters trained from it;
 * adapters that name another base are listed in skipped, with why.
 */
export function choosePlayground(model: string | undefined, adapters: readonly PlaygroundAdapter[]): PlaygroundState {
  const baseDir = model ?? adapters.find((a) => a.base && existsSync(a.base))?.base ?? null;
  if (!baseDir) return { model: null, adapters: [], skipped: adapters.map((a) => `${a.name}: its base model ${a.base ?? '(not recorded)'} is not found; pass --model`) };
  const same = (a: PlaygroundAdapter) => a.base === null || resolve(a.base) === resolve(baseDir);
  return {
    model: baseDir,
    adapters: adapters.filter(same),
    skipped: adapters.filter((a) => !same(a)).map((a) => `${a.name}: trained from ${a.base}, not ${baseDir}`),
  };
}

/** The OpenAI server behind the playground, (re)started for the base and adapters asked for. */
export class Playground {
  private server: RunningServer | null = null;
  private key = '';
  private pending: Promise<RunningServer> | null = null;

  async ensure(state: PlaygroundState): Promise<RunningServer> {
    if (!state.model) throw new Error('the playground needs a base model: pass gptune studio --model DIR, or train a LoRA run');
    const key = JSON.stringify([resolve(state.model), state.adapters.map((a) => [a.name, a.dir])]);
    while (this.pending) await this.pending.catch(() => undefined);
    if (this.server && this.key === key) return this.server;
    this.pending = (async () => {
      const old = this.server;
      this.server = null;
      if (old) await old.close();
      const served = loadServedModel({ modelDir: state.model!, adapters: state.adapters.map((a) => ({ name: a.name, dir: a.dir })), name: BASE_NAME });
      const server = await startServer({ modelDir: state.model!, served, host: '127.0.0.1', port: 0, shutdownGraceMs: 1000 });
      this.server = server;
      this.key = key;
      return server;
    })();
    try { return await this.pending; } finally { this.pending = null; }
  }

  /** Passes a request through to the OpenAI server, streaming the answer back as it comes. */
  forward(server: RunningServer, req: IncomingMessage, res: ServerResponse): void {
    const up = request({ host: '127.0.0.1', port: server.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', (e) => { if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' }); res.end(JSON.stringify({ error: { message: e.message } })); });
    // The page closing its stream cancels the generation upstream.
    res.on('close', () => { if (!res.writableFinished) up.destroy(); });
    req.pipe(up);
  }

  async close(): Promise<void> {
    while (this.pending) await this.pending.catch(() => undefined);
    await this.server?.close();
    this.server = null;
  }
}
