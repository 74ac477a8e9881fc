// `gptune cache ls|clear`: the token caches gptune keeps in its cache folder (never beside the data).
import { opt, type OptionValues } from './option.js';
import { cacheRoot, clearTokenCaches, listTokenCaches, tokenCacheDir } from '../data/cache_dir.js';

export const CACHE_OPTIONS = {
  cacheDir: opt.string({ arg: 'dir', defaultRule: '$GPTUNE_CACHE_DIR, else $XDG_CACHE_HOME/gptune, else ~/.cache/gptune', help: 'the cache folder' }),
  json: opt.bool({ default: false, help: 'print JSON' }),
};
export type CacheRunOptions = OptionValues<typeof CACHE_OPTIONS>;

export function runCacheList(o: CacheRunOptions): { dir: string; entries: ReturnType<typeof listTokenCaches> } {
  const root = cacheRoot(o.cacheDir);
  return { dir: tokenCacheDir(root), entries: listTokenCaches(root) };
}

export function runCacheClear(o: CacheRunOptions): { dir: string } & ReturnType<typeof clearTokenCaches> {
  const root = cacheRoot(o.cacheDir);
  return { dir: tokenCacheDir(root), ...clearTokenCaches(root) };
}
