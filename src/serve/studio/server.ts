// `gptune studio`: a local web app on node:http. Serves the page (assets/studio), uPlot from
// node_modules, the runs under --runs as JSON, and each run's metrics.jsonl as server-sent events
// that follow the file while the run trains.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { listRuns, mergeLaunched } from './runs.js';
import { Launcher, NAME_FIELD, trainFormSchema } from './launcher.js';
import { DATA_FORM_OMIT, inspectData } from './data_view.js';
import { formSchema } from './option_form.js';
import { DATA_INSPECT_OPTIONS } from '../../run/data_inspect.js';
import { JsonlFollower } from './follow_jsonl.js';
import { BASE_NAME, Playground, choosePlayground, runAdapters, runModels } from './playground.js';
import { METRICS_FILE } from '../../train/trainer.js';
import { packagePath } from '../../util/package_root.js';
import { errorMessage } from '../../util/errors.js';


const LOOPBACK = ['127.0.0.1', 'localhost', '::1'];
/** Largest request body the studio reads (a form, a chat): as gptune serve's default. */
const MAX_BODY = 1 << 20;

/** Loopback only, on the port Gradio-style local apps use, when the caller gives none. */
export const STUDIO_DEFAULTS = { host: '127.0.0.1', port: 7860 } as const;
export interface StudioOptions {
  /** The folder whose runs are shown (need not exist yet). */
  runsDir: string;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default 7860; 0 picks a free port. */
  port?: number;
  /** The playground's base model (default: the base the newest LoRA run names). */
  model?: string;
  /** How often a followed metrics.jsonl is checked for new lines (ms). */
  pollMs?: number;
}

export interface RunningStudio {
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

/** The files served, by URL path: the page's own and uPlot's (the package's build, no CDN). */
function staticFiles(): Map<string, string> {
  const page = packagePath('assets', 'studio');
  const uplot = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
  return new Map([
    ['/', join(page, 'index.html')],
    ['/studio.js', join(page, 'studio.js')],
    ['/studio.css', join(page, 'studio.css')],
    ['/vendor/uPlot.iife.min.js', join(uplot, 'uPlot.iife.min.js')],
    ['/vendor/uPlot.min.css', join(uplot, 'uPlot.min.css')],
  ]);
}

export async function startStudio(opts: StudioOptions): Promise<RunningStudio> {
  const root = resolve(opts.runsDir);
  const files = staticFiles();
  for (const f of files.values()) if (!existsSync(f)) throw new Error(`gptune studio: ${f} is missing from the installation`);
  const pollMs = opts.pollMs ?? 300;
  const streams = new Set<ServerResponse>();
  const playground = new Playground();
  const launcher = new Launcher(root);
  const runs = () => mergeLaunched(root, listRuns(root), launcher.list().map((l) => ({ ...l, dir: join(root, l.name), logTail: launcher.get(l.name)!.logTail })));
  const playgroundState = (list = runs()) => choosePlayground(opts.model, runAdapters(list), runModels(list));
  const host = opts.host ?? STUDIO_DEFAULTS.host;
  const canLaunch = LOOPBACK.includes(host);

  const post = async (path: string, body: Record<string, unknown>, res: ServerResponse) => {
    if (path === '/api/playground/choose') {
      const names = Array.isArray(body.models) ? body.models.filter((m): m is string => typeof m === 'string') : [];
      await playground.choose(names, playgroundState());
      return sendJson(res, 200, { ok: true });
    }
    // Reading any file the page names and starting processes: for the user at this machine only.
    if (!canLaunch) return sendJson(res, 403, { ok: false, errors: { '': `the data view and starting runs are offered on loopback only (the studio is bound to ${host})` } });
    if (path === '/api/data') {
      try { return sendJson(res, 200, inspectData(body)); } catch (e) { return sendJson(res, 200, { ok: false, errors: { '': errorMessage(e) } }); }
    }
    if (path === '/api/runs/start') {
      const r = launcher.start((body.options ?? {}) as Record<string, unknown>);
      return sendJson(res, r.ok ? 200 : 400, r);
    }
    const id = typeof body.run === 'string' ? body.run : '';
    const run = runs().find((r) => r.id === id);
    if (!run) return sendJson(res, 404, { ok: false, errors: { '': `no run '${id}' under ${root}` } });
    if (path === '/api/runs/stop') {
      return launcher.stop(run.id) ? sendJson(res, 200, { ok: true }) : sendJson(res, 409, { ok: false, errors: { '': `'${id}' was not started from this studio or is not training` } });
    }
    if (path === '/api/runs/resume') {
      if (relative(root, run.dir).startsWith('..')) return sendJson(res, 400, { ok: false, errors: { '': `'${id}' is outside ${root}` } });
      const r = launcher.resume(run.id, run.dir);
      return sendJson(res, r.ok ? 200 : 400, r);
    }
    sendJson(res, 404, { error: `no route POST ${path}` });
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/v1/')) {
      // The playground: gptune serve's API over the base, the runs' adapters and the checkpoints chosen.
      readBody(req).then(async (body) => {
        let model: string | undefined;
        try { model = body.length ? (JSON.parse(body.toString('utf8')) as { model?: unknown }).model as string | undefined : undefined; } catch { /* the server names the bad JSON */ }
        const server = await playground.serverFor(typeof model === 'string' ? model : undefined, playgroundState());
        playground.forward(server, req, res, body);
      }).catch((e) => sendJson(res, 503, { error: { message: errorMessage(e), type: 'server_error' } }));
      return;
    }
    if (req.method === 'POST' && url.pathname.startsWith('/api/')) {
      // JSON only (a cross-site form cannot send it without a preflight this server never answers), to this host by name.
      if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) { req.resume(); return sendJson(res, 415, { error: `POST ${url.pathname} takes application/json` }); }
      if (!loopbackHost(req.headers.host) && canLaunch) { req.resume(); return sendJson(res, 403, { error: `Host '${req.headers.host}' is not this studio's loopback address` }); }
      readBody(req).then((b) => {
        const body = b.length ? JSON.parse(b.toString('utf8')) as unknown : {};
        if (!body || typeof body !== 'object' || Array.isArray(body)) return sendJson(res, 400, { error: 'the body must be a JSON object' });
        return post(url.pathname, body as Record<string, unknown>, res);
      }).catch((e) => { if (!res.headersSent) sendJson(res, 400, { ok: false, errors: { '': errorMessage(e) } }); });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, `${url.pathname} takes GET, not ${req.method}`);
    const file = files.get(url.pathname);
    if (file) {
      const ext = file.slice(file.lastIndexOf('.'));
      res.writeHead(200, { 'content-type': TYPES[ext] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
      res.end(readFileSync(file));
      return;
    }
    if (url.pathname === '/api/runs') return sendJson(res, 200, { root, canLaunch, runs: runs() });
    if (url.pathname === '/api/options') {
      return sendJson(res, 200, { train: trainFormSchema(), data: formSchema(DATA_INSPECT_OPTIONS, DATA_FORM_OMIT), nameField: NAME_FIELD });
    }
    if (url.pathname === '/api/playground') {
      const p = playgroundState();
      return sendJson(res, 200, {
        model: p.model, base: BASE_NAME, adapters: p.adapters.map((a) => a.name), skipped: p.skipped,
        checkpoints: p.checkpoints.map((c) => ({ name: c.name, kind: c.kind, run: c.run, step: c.step })),
      });
    }
    if (url.pathname === '/api/metrics') {
      // Only a run the listing knows: the id never becomes a path by itself.
      const id = url.searchParams.get('run') ?? '';
      const run = runs().find((r) => r.id === id);
      if (!run) return sendJson(res, 404, { error: `no run '${id}' under ${root}` });
      return followMetrics(join(run.dir, METRICS_FILE), req, res, pollMs, streams);
    }
    sendJson(res, 404, { error: `no route GET ${url.pathname}` });
  };

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      if (res.headersSent) res.end();
      else sendJson(res, 500, { error: errorMessage(e) });
    }
  });
  server.requestTimeout = 0; // event streams stay open as long as the page does
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? STUDIO_DEFAULTS.port, host, () => { server.off('error', fail); ok(); });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, host, port,
    close: async () => {
      for (const s of streams) s.end();
      const closed = new Promise<void>((done) => server.close(() => done()));
      server.closeAllConnections();
      await launcher.close(); // runs still training save their checkpoint, as on Ctrl-C
      await playground.close();
      await closed;
    },
  };
}

/** Streams metrics.jsonl as events: `rows` (a JSON array of new lines), `reset` (start over), `problem`. */
function followMetrics(path: string, req: IncomingMessage, res: ServerResponse, pollMs: number, streams: Set<ServerResponse>): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.write('retry: 2000\n\n');
  const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const follower = new JsonlFollower(path, {
    rows: (rows) => send('rows', rows),
    reset: () => send('reset', {}),
    problem: (message) => send('problem', { message }),
  });
  const tick = () => { try { follower.poll(); } catch (e) { send('problem', { message: errorMessage(e) }); } };
  tick();
  const timer = setInterval(tick, pollMs);
  const ping = setInterval(() => res.write(': ping\n\n'), 15_000); // keeps proxies from closing an idle stream
  streams.add(res);
  const stop = () => { clearInterval(timer); clearInterval(ping); streams.delete(res); };
  req.on('close', stop);
  res.on('close', stop);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-cache' });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text + '\n');
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((done, fail) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) { fail(new Error(`the request body is over ${MAX_BODY} bytes`)); req.destroy(); return; }
      parts.push(c);
    });
    req.on('end', () => done(Buffer.concat(parts)));
    req.on('error', fail);
  });
}

/** Whether a Host header names a loopback address (a DNS-rebound name does not). */
function loopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return LOOPBACK.includes(name);
}
