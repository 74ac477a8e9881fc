// Where derived data (token caches) lives: never beside the user's data, which is only read. As
// Hugging Face datasets does: an explicit folder, else $GPTUNE_CACHE_DIR, else the user's cache folder.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The cache root: dir if given, else $GPTUNE_CACHE_DIR, else $XDG_CACHE_HOME/gptune, else ~/.cache/gptune. */
export function cacheRoot(dir?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (dir !== undefined && dir !== '') return resolve(dir);
  if (env.GPTUNE_CACHE_DIR) return resolve(env.GPTUNE_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return join(resolve(env.XDG_CACHE_HOME), 'gptune');
  return join(homedir(), '.cache', 'gptune');
}

/** Token caches sit in <root>/tokens. */
export function tokenCacheDir(root: string): string {
  return join(root, 'tokens');
}

export interface CacheEntry {
  /** The .tokens file (its sidecar is path + '.json'). */
  path: string;
  bytes: number;
  tokens: number | null;
  /** The data it was built from (absolute path), when the sidecar says. */
  data: string | null;
  lastUsed: Date;
}

/** The token caches under root, largest first. */
export function listTokenCaches(root: string): CacheEntry[] {
  const dir = tokenCacheDir(root);
  if (!existsSync(dir)) return [];
  const out: CacheEntry[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.tokens')) continue;
    const path = join(dir, name);
    const st = statSync(path);
    let meta: { tokens?: number; dataPath?: string } = {};
    try { meta = JSON.parse(readFileSync(path + '.json', 'utf8')); } catch { /* no sidecar: a build cut short */ }
    out.push({ path, bytes: st.size, tokens: typeof meta.tokens === 'number' ? meta.tokens : null, data: meta.dataPath ?? null, lastUsed: st.atime });
  }
  return out.sort((a, b) => b.bytes - a.bytes);
}

/** Removes every token cache (and left-over temporary files) under root; returns what was freed. */
export function clearTokenCaches(root: string): { files: number; bytes: number } {
  const dir = tokenCacheDir(root);
  if (!existsSync(dir)) return { files: 0, bytes: 0 };
  let files = 0, bytes = 0;
  for (const name of readdirSync(dir)) {
    if (!/\.tokens(\.json)?$|\.tokens\.tmp-|\.tokens\.json\.tmp-/.test(name)) continue;
    const p = join(dir, name);
    bytes += statSync(p).size;
    rmSync(p, { force: true });
    files++;
  }
  return { files, bytes };
}
