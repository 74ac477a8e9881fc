// One way every command writes its output folder, so no command can lose what is already there:
// checked before any work (not a file, not an input, writable, no foreign files unless --overwrite),
// then filled through a staging folder whose files are fsynced and renamed over the targets one by
// one. Only files the command owns are ever replaced or removed; anything else is kept.
import { existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { GptuneError } from './errors.js';
import { processAlive } from './process.js';
import { syncPath } from './fs_atomic.js';

export type NamePattern = string | RegExp;

export interface OutputSpec {
  /** The command, for messages ('merge', 'train', 'tokenizer train'). */
  command: string;
  /** The flag the folder came from (default '--out'). */
  flag?: string;
  /** Names this command writes: the only entries --overwrite may replace. */
  owns: readonly NamePattern[];
  /** Entries of a kind this command supersedes (an old adapter beside a new full model): removed when it writes. */
  stale?: readonly NamePattern[];
  /** Replace owned files of an earlier output; without it a non-empty folder is refused. */
  overwrite: boolean;
  /** A non-empty folder is expected (a run being resumed). */
  resume?: boolean;
  /** Folders the output must not be: flag -> path (compared by real path). */
  inputs?: Record<string, string | undefined>;
}

const STAGE_PREFIX = '.gptune-tmp-';

/**
 * Checks the output folder before a command loads anything, and creates it. Refuses a path that
 * is a file, one of the command's inputs, unwritable (EROFS/EACCES named), or a folder holding
 * anything (without --overwrite or --resume). Returns the absolute path.
 */
export function prepareOutputDir(out: string, spec: OutputSpec): string {
  const flag = spec.flag ?? '--out';
  const abs = resolve(out); // drops a trailing slash; '.' becomes the working directory
  for (const [inFlag, inPath] of Object.entries(spec.inputs ?? {})) {
    if (inPath !== undefined && existsSync(abs) && existsSync(inPath) && realpathSync(abs) === realpathSync(inPath)) {
      throw new GptuneError(`${flag} ${out} is the ${inFlag} folder: writing there would replace its files; give another folder`);
    }
  }
  if (existsSync(abs) && !statSync(abs).isDirectory()) {
    throw new GptuneError(`${flag} ${out} is an existing file, not a folder; give a folder path (${spec.command} writes several files)`);
  }
  const entries = existsSync(abs) ? listEntries(abs) : [];
  if (entries.length > 0 && !spec.overwrite && !spec.resume) {
    const foreign = entries.filter((e) => !matches(e, spec.owns));
    const shown = (foreign.length ? foreign : entries).slice(0, 4).join(', ') + (entries.length > 4 ? `, ... (${entries.length} entries)` : '');
    const what = foreign.length ? `files ${spec.command} did not write (${shown})` : `an earlier ${spec.command} output (${shown})`;
    throw new GptuneError(`${flag} ${out} is not empty: it holds ${what}. Give a new folder, or pass --overwrite to replace ` +
      `the files ${spec.command} writes (other files are kept)`);
  }
  checkWritable(abs, flag, out);
  return abs;
}

/**
 * Writes the command's files into out: fill() writes them into a staging folder inside out; each is
 * fsynced, then renamed over its target, and stale entries of a superseded kind are removed. A
 * failure in fill() leaves out as it was. Returns the names written.
 */
export function writeOutputDir(out: string, spec: Pick<OutputSpec, 'command' | 'owns' | 'stale'>, fill: (dir: string) => void): string[] {
  const abs = resolve(out);
  mkdirSync(abs, { recursive: true });
  removeDeadStages(abs);
  const stage = join(abs, `${STAGE_PREFIX}${process.pid}`);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage);
  try {
    fill(stage);
    const names = readdirSync(stage).sort();
    for (const name of names) {
      if (!matches(name, spec.owns)) throw new Error(`${spec.command} wrote '${name}', which is not among the files it owns (a bug)`);
      syncPath(join(stage, name));
    }
    for (const name of names) {
      const target = join(abs, name);
      if (existsSync(target) && statSync(target).isDirectory()) rmSync(target, { recursive: true, force: true });
      renameSync(join(stage, name), target);
    }
    for (const name of listEntries(abs)) {
      if (!names.includes(name) && matches(name, spec.stale ?? [])) rmSync(join(abs, name), { recursive: true, force: true });
    }
    return names;
  } finally {
    rmSync(stage, { recursive: true, force: true });
    syncPath(abs);
  }
}

/** Whether name matches one of the patterns (strings exactly, regexps in full). */
export function matches(name: string, patterns: readonly NamePattern[]): boolean {
  return patterns.some((p) => (typeof p === 'string' ? p === name : new RegExp(`^(?:${p.source})$`, p.flags).test(name)));
}

// A folder's entries, without staging folders (ours or live ones); dead processes' stages are removed.
function listEntries(dir: string): string[] {
  removeDeadStages(dir);
  return readdirSync(dir).filter((n) => !n.startsWith(STAGE_PREFIX));
}

function removeDeadStages(dir: string): void {
  for (const name of readdirSync(dir)) {
    const m = new RegExp(`^${STAGE_PREFIX}(\\d+)$`).exec(name);
    if (m && Number(m[1]) !== process.pid && !processAlive(Number(m[1]))) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

// Creates the folder and writes a probe file in it: access(2) says yes to root on a read-only mount.
function checkWritable(abs: string, flag: string, shown: string): void {
  const probe = join(abs, `${STAGE_PREFIX}${process.pid}-probe`);
  try {
    mkdirSync(abs, { recursive: true });
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EROFS' ? 'it is on a read-only file system (EROFS)'
      : code === 'EACCES' || code === 'EPERM' ? `permission denied (${code})`
        : code === 'ENOTDIR' ? `a part of the path ${dirname(shown)} is a file (ENOTDIR)`
          : code === 'ENOSPC' ? 'the disk is full (ENOSPC)' : `${code ?? (e as Error).message}`;
    throw new GptuneError(`${flag} ${shown}: cannot write there: ${why}`);
  }
}
