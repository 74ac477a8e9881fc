// The studio's playground: the base model and the LoRA adapters of the runs, behind gptune serve's
// own OpenAI server (same scheduler, so the base and the adapters answer in one batch), started on
// loopback when first asked for and rebuilt when the runs' adapters change. A run's checkpoints answer
// too: a LoRA checkpoint as one more adapter over the base, a full fine-tune's checkpoint (a whole
// model folder) behind a server of its own. The studio forwards /v1/* to the server holding the model asked for.
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
const FULL_WEIGHTS = ['config.json', 'model.safetensors'];

export interface PlaygroundAdapter { name: string; dir: string; base: string | null }

/** A model a run left: its final LoRA adapter or model (named by the run's id) or a checkpoint ('<run>/checkpoint-<step>'). */
export interface RunModel extends PlaygroundAdapter { kind: 'lora' | 'full'; run: string; step: number | null }

function adapterBase(dir: string): string | null {
  try {
    const b = readJsonObject(join(dir, ADAPTER_CONFIG_FILE)).base_model_name_or_path;
    return typeof b === 'string' && b ? b : null;
  } catch { return null; /* an unreadable config: AdapterSet.load names it if it is served */ }
}

function modelIn(dir: string, name: string, run: string, step: number | null): RunModel | null {
  if (existsSync(join(dir, ADAPTER_CONFIG_FILE)) && existsSync(join(dir, ADAPTER_WEIGHTS_FILE))) return { name, dir, base: adapterBase(dir), kind: 'lora', run, step };
  if (FULL_WEIGHTS.every((f) => existsSync(join(dir, f)))) return { name, dir, base: null, kind: 'full', run, step };
  return null;
}

/** Every model the runs hold: each finished run's result, then its checkpoints, newest first. */
export function runModels(runs: readonly RunInfo[]): RunModel[] {
  const out: RunModel[] = [];
  for (const r of runs) {
    const final = modelIn(r.dir, r.id, r.id, null);
    if (final) out.push(final);
    for (const c of [...r.checkpoints].reverse()) {
      const m = modelIn(join(r.dir, c.name), `${r.id}/${c.name}`, r.id, c.step);
      if (m) out.push(m);
    }
  }
  return out;
}

/** Finished LoRA runs: the run folder holds adapter_config.json and the adapter's weights. */
export function runAdapters(runs: readonly RunInfo[]): PlaygroundAdapter[] {
  return runModels(runs).filter((m) => m.kind === 'lora' && m.step === null).map(({ name, dir, base }) => ({ name, dir, base }));
}

export interface PlaygroundState {
  model: string | null;
  adapters: PlaygroundAdapter[];
  skipped: string[];
  /** Checkpoints (LoRA over this base, or full models) and finished full fine-tunes, that can answer when chosen. */
  checkpoints: RunModel[];
}

/**
 * The base (--model, else the base the newest adapter names) and the adapters trained from it;
 * adapters that name another base are listed in skipped, with why.
 */
export function choosePlayground(model: string | undefined, adapters: readonly PlaygroundAdapter[], models: readonly RunModel[] = []): PlaygroundState {
  const baseDir = model ?? adapters.find((a) => a.base && existsSync(a.base))?.base ?? models.find((a) => a.kind === 'lora' && a.base && existsSync(a.base))?.base ?? null;
  const full = models.filter((m) => m.kind === 'full');
  const loraCkpts = models.filter((m) => m.kind === 'lora' && m.step !== null);
  if (!baseDir) {
    return {
      model: null, adapters: [], checkpoints: full,
      skipped: [...adapters, ...loraCkpts].map((a) => `${a.name}: its base model ${a.base ?? '(not recorded)'} is not found; pass --model`),
    };
  }
  const same = (a: PlaygroundAdapter) => a.base === null || resolve(a.base) === resolve(baseDir);
  return {
    model: baseDir,
    adapters: adapters.filter(same),
    checkpoints: [...loraCkpts.filter(same), ...full].sort((a, b) => models.indexOf(a) - models.indexOf(b)),
    skipped: [...adapters, ...loraCkpts].filter((a) => !same(a)).map((a) => `${a.name}: trained from ${a.base}, not ${baseDir}`),
  };
}

/** The OpenAI servers behind the playground: one for the base and its adapters, one per full model chosen. */
export class Playground {
  private server: RunningServer | null = null;
  private key = '';
  private pending: Promise<RunningServer> | null = null;
  /** LoRA checkpoints asked for: served as adapters beside the finished runs' until the page chooses others. */
  private wanted = new Set<string>();
  private full = new Map<string, { dir: string; server: Promise<RunningServer> }>();

  async ensure(state: PlaygroundState): Promise<RunningServer> {
    if (!state.model) throw new Error('the playground needs a base model: pass gptune studio --model DIR, or train a LoRA run');
    const adapters = [...state.adapters, ...state.checkpoints.filter((c) => c.kind === 'lora' && this.wanted.has(c.name))];
    const key = JSON.stringify([resolve(state.model), adapters.map((a) => [a.name, a.dir])]);
    while (this.pending) await this.pending.catch(() => undefined);
    if (this.server && this.key === key) return this.server;
    this.pending = (async () => {
      const old = this.server;
      this.server = null;
      if (old) await old.close();
      const served = loadServedModel({ modelDir: state.model!, adapters: adapters.map((a) => ({ name: a.name, dir: a.dir })), name: BASE_NAME });
      const server = await startServer({ modelDir: state.model!, served, host: '127.0.0.1', port: 0, shutdownGraceMs: 1000 });
      this.server = server;
      this.key = key;
      return server;
    })();
    try { return await this.pending; } finally { this.pending = null; }
  }

  /**
   * Makes the models the page is about to ask ready at once (one rebuild of the base's server, not one
   * per answer); full models not chosen are closed. Unknown names are ignored: the answer names them.
   */
  async choose(names: readonly string[], state: PlaygroundState): Promise<void> {
    const byName = new Map(state.checkpoints.map((c) => [c.name, c]));
    this.wanted = new Set(names.filter((n) => byName.get(n)?.kind === 'lora'));
    const fullNames = new Set(names.filter((n) => byName.get(n)?.kind === 'full'));
    for (const [name, f] of this.full) if (!fullNames.has(name)) { this.full.delete(name); f.server.then((s) => s.close(), () => undefined); }
    const ready: Promise<unknown>[] = [...fullNames].map((n) => this.fullServer(byName.get(n)!));
    if (state.model) ready.push(this.ensure(state));
    await Promise.all(ready);
  }

  /** The server that answers for `model`: a full model's own, else the base's (a LoRA checkpoint joins its adapters). */
  serverFor(model: string | undefined, state: PlaygroundState): Promise<RunningServer> {
    const ckpt = model === undefined ? undefined : state.checkpoints.find((c) => c.name === model);
    if (ckpt?.kind === 'full') return this.fullServer(ckpt);
    if (ckpt) this.wanted.add(ckpt.name);
    return this.ensure(state);
  }

  private fullServer(m: RunModel): Promise<RunningServer> {
    const have = this.full.get(m.name);
    if (have && have.dir === m.dir) return have.server;
    const server = (async () => {
      const served = loadServedModel({ modelDir: m.dir, name: m.name });
      return startServer({ modelDir: m.dir, served, host: '127.0.0.1', port: 0, shutdownGraceMs: 1000 });
    })();
    server.catch(() => this.full.get(m.name)?.server === server && this.full.delete(m.name));
    this.full.set(m.name, { dir: m.dir, server });
    return server;
  }

  /** Passes a request (its body already read) through to an OpenAI server, streaming the answer back as it comes. */
  forward(server: RunningServer, req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const headers = { ...req.headers, 'content-length': String(body.length) };
    delete headers['transfer-encoding'];
    const up = request({ host: '127.0.0.1', port: server.port, path: req.url, method: req.method, headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', (e) => { if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' }); res.end(JSON.stringify({ error: { message: e.message } })); });
    // The page closing its stream cancels the generation upstream.
    res.on('close', () => { if (!res.writableFinished) up.destroy(); });
    up.end(body);
  }

  async close(): Promise<void> {
    while (this.pending) await this.pending.catch(() => undefined);
    await this.server?.close();
    this.server = null;
    const full = [...this.full.values()];
    this.full.clear();
    await Promise.all(full.map((f) => f.server.then((s) => s.close(), () => undefined)));
  }
}
