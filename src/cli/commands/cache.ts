// gptune cache ls|clear: the token caches gptune keeps in its cache folder (never beside the data).
import type { Command } from 'commander';
import { cacheRoot, clearTokenCaches, listTokenCaches, tokenCacheDir } from '../../data/cache_dir.js';

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

export function registerCache(program: Command): void {
  const cache = program.command('cache').description('token caches: list or delete them (default folder: $GPTUNE_CACHE_DIR, else $XDG_CACHE_HOME/gptune, else ~/.cache/gptune)');
  cache.command('ls')
    .description('list the token caches, largest first')
    .option('--cache-dir <dir>', 'the cache folder')
    .option('--json', 'print JSON')
    .action((f: { cacheDir?: string; json?: boolean }) => {
      const root = cacheRoot(f.cacheDir);
      const entries = listTokenCaches(root);
      if (f.json) return void console.log(JSON.stringify({ dir: tokenCacheDir(root), entries }, null, 2));
      console.log(`${tokenCacheDir(root)}: ${entries.length} token cache(s), ${mb(entries.reduce((s, e) => s + e.bytes, 0))}`);
      for (const e of entries) console.log(`${mb(e.bytes).padStart(10)}  ${e.tokens ?? '?'} tokens  ${e.data ?? '(unknown data)'}  ${e.path}`);
    });
  cache.command('clear')
    .description('delete every token cache (they are rebuilt when needed)')
    .option('--cache-dir <dir>', 'the cache folder')
    .action((f: { cacheDir?: string }) => {
      const root = cacheRoot(f.cacheDir);
      const r = clearTokenCaches(root);
      console.log(`removed ${r.files} file(s), ${mb(r.bytes)}, from ${tokenCacheDir(root)}`);
    });
}
