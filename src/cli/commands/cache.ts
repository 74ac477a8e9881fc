// gptune cache ls|clear: parse -> src/run/cache.ts -> print.
import type { Command } from 'commander';
import { addOptions, readOptions } from '../options.js';
import { CACHE_OPTIONS, runCacheClear, runCacheList } from '../../run/cache.js';

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

export function registerCache(program: Command): void {
  const cache = program.command('cache').description('token caches: list or delete them');
  const ls = cache.command('ls').description('list the token caches, largest first');
  addOptions(ls, CACHE_OPTIONS).action(() => {
    const { values: o } = readOptions(ls, CACHE_OPTIONS);
    const r = runCacheList(o);
    if (o.json) return void console.log(JSON.stringify(r, null, 2));
    console.log(`${r.dir}: ${r.entries.length} token cache(s), ${mb(r.entries.reduce((s, e) => s + e.bytes, 0))}`);
    for (const e of r.entries) console.log(`${mb(e.bytes).padStart(10)}  ${e.tokens ?? '?'} tokens  ${e.data ?? '(unknown data)'}  ${e.path}`);
  });
  const clear = cache.command('clear').description('delete every token cache (they are rebuilt when needed)');
  addOptions(clear, { cacheDir: CACHE_OPTIONS.cacheDir }).action(() => {
    const { values: o } = readOptions(clear, { cacheDir: CACHE_OPTIONS.cacheDir });
    const r = runCacheClear({ ...o, json: false });
    console.log(`removed ${r.files} file(s), ${mb(r.bytes)}, from ${r.dir}`);
  });
}
