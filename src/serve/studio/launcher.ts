// Runs started from the studio's page: `gptune train` as a child process (this node, this package's
// CLI) writing into a folder under the runs folder, its output kept in <runs>/.studio/<name>.log.
// Stop sends SIGINT, as Ctrl-C does: the trainer finishes its step and saves a checkpoint. Resume
// starts it again with --resume and the options its newest checkpoint recorded.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TRAIN_OPTIONS } from '../../run/train_options.js';
import { listCheckpoints, loadState } from '../../train/checkpoint.js';
import { packagePath } from '../../util/package_root.js';
import { formSchema, readForm, toArgs, type FieldSchema } from './option_form.js';
import { isRunDir } from './runs.js';

/** Options the form does not offer: --out is the run's name, --resume is the Resume button, the
 *  progress bar has no terminal to draw on, and MPI jobs are started by mpirun. */
export const TRAIN_FORM_OMIT = ['out', 'resume', 'progress', 'distributed'] as const;
/** The run's name on the form: its folder under the runs folder. */
export const NAME_FIELD = 'name';
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/;
/** Where the logs of launched runs go: a dot folder, which the runs listing skips. */
export const LOG_DIR = '.studio';
const LOG_TAIL_BYTES = 4000;

export interface Launched {
  name: string;
  pid: number;
  /** The command line, for the page (and a user who wants to run it by hand). */
  command: string[];
  log: string;
  startedMs: number;
  /** Set when the process has ended: its exit code, or the signal that killed it. */
  exit: { code: number | null; signal: string | null } | null;
  /** Stop was asked for (a run stopped while its model loads ends by the signal itself, before training sets its handler). */
  stopRequested: boolean;
}

export type StartResult = { ok: true; run: Launched } | { ok: false; errors: Record<string, string> };

export function trainFormSchema(): FieldSchema[] {
  return formSchema(TRAIN_OPTIONS, TRAIN_FORM_OMIT);
}

export class Launcher {
  private readonly runs = new Map<string, { info: Launched; child: ChildProcess }>();

  constructor(private readonly root: string, private readonly cwd = process.cwd()) {}

  /** Checks the form and starts `gptune train --out <runs>/<name>`; problems come back by option name. */
  start(fields: Record<string, unknown>): StartResult {
    const { [NAME_FIELD]: rawName, ...options } = fields;
    const { values, errors } = readForm(TRAIN_OPTIONS, options, TRAIN_FORM_OMIT);
    const name = typeof rawName === 'string' ? rawName.trim() : '';
    if (!NAME_RE.test(name)) errors[NAME_FIELD] = `the run's name must be letters, digits, '.', '_' or '-' (a folder under ${this.root}), got '${name}'`;
    else if (this.alive(name)) errors[NAME_FIELD] = `'${name}' is training now`;
    else if (!values.overwrite && isRunDir(join(this.root, name))) errors[NAME_FIELD] = `${join(this.root, name)} already holds a run: pick another name, tick overwrite, or resume it`;
    if (Object.keys(errors).length) return { ok: false, errors };
    return { ok: true, run: this.spawn(name, [...toArgs(TRAIN_OPTIONS, values), '--out', join(this.root, name)]) };
  }

  /** Continues the run in <runs>/<id> from its newest checkpoint, with the options that checkpoint recorded. */
  resume(id: string, dir: string): StartResult {
    if (this.alive(id)) return { ok: false, errors: { [NAME_FIELD]: `'${id}' is training now` } };
    const ckpts = listCheckpoints(dir);
    if (!ckpts.length) return { ok: false, errors: { [NAME_FIELD]: `${dir} has no checkpoint to resume from` } };
    const config = loadState(ckpts[ckpts.length - 1].dir).config ?? {};
    const saved = Object.fromEntries(Object.entries(config).filter(([k]) => k in TRAIN_OPTIONS && !(TRAIN_FORM_OMIT as readonly string[]).includes(k) && k !== 'overwrite'));
    const { values, errors } = readForm(TRAIN_OPTIONS, saved, TRAIN_FORM_OMIT);
    if (Object.keys(errors).length) return { ok: false, errors };
    return { ok: true, run: this.spawn(id, [...toArgs(TRAIN_OPTIONS, values), '--out', dir, '--resume']) };
  }

  /** Ctrl-C for a launched run: it saves a checkpoint after the step in progress. False when not running. */
  stop(name: string): boolean {
    const r = this.runs.get(name);
    if (!r || r.info.exit) return false;
    r.info.stopRequested = true;
    return r.child.kill('SIGINT');
  }

  alive(name: string): boolean {
    const r = this.runs.get(name);
    return r !== undefined && r.info.exit === null;
  }

  get(name: string): (Launched & { logTail: string }) | undefined {
    const r = this.runs.get(name);
    return r && { ...r.info, logTail: tail(r.info.log) };
  }

  list(): Launched[] {
    return [...this.runs.values()].map((r) => r.info);
  }

  /** Stops the runs still training (each saves its checkpoint) and waits for them to exit. */
  async close(): Promise<void> {
    const waits = [...this.runs.values()].filter((r) => !r.info.exit).map((r) => new Promise<void>((done) => {
      r.child.once('exit', () => done());
      if (!r.info.stopRequested) this.stop(r.info.name);
    }));
    await Promise.all(waits);
  }

  private spawn(name: string, args: string[]): Launched {
    mkdirSync(join(this.root, LOG_DIR), { recursive: true });
    const log = join(this.root, LOG_DIR, `${name.replace(/\//g, '__')}.log`);
    const fd = openSync(log, 'a');
    // The same node, the same package: the run trains with exactly the code that serves the page.
    const command = [process.execPath, packagePath('dist', 'src', 'cli', 'main.js'), 'train', ...args, '--no-progress'];
    let child: ChildProcess;
    try {
      // A process group of its own: Ctrl-C in the studio's terminal reaches the studio alone, which then
      // sends one SIGINT (a second would make the trainer quit without saving).
      child = spawn(command[0], command.slice(1), { cwd: this.cwd, stdio: ['ignore', fd, fd], detached: true });
    } finally {
      closeSync(fd);
    }
    const info: Launched = { name, pid: child.pid ?? -1, command: command.slice(1), log, startedMs: Date.now(), exit: null, stopRequested: false };
    child.on('exit', (code, signal) => { info.exit = { code, signal }; });
    child.on('error', (e) => { info.exit = { code: null, signal: e.message }; });
    this.runs.set(name, { info, child });
    return info;
  }
}

/** The end of a log: the error a run that failed to start printed. */
function tail(path: string): string {
  if (!existsSync(path)) return '';
  const size = statSync(path).size;
  const text = readFileSync(path, 'utf8');
  return size > LOG_TAIL_BYTES ? text.slice(-LOG_TAIL_BYTES) : text;
}
