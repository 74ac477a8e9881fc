// Raw-text training reads its data folder and writes the token cache only to the cache folder
// (--cache-dir, else GPTUNE_CACHE_DIR / XDG_CACHE_HOME); `gptune cache ls|clear` shows and frees it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturePath } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp_dir.js';

const BIN = join(fixturePath(), '..', '..', 'bin', 'gptune.js');

function gptune(args: string[], env: Record<string, string>) {
  const base: NodeJS.ProcessEnv = { ...process.env, GPTUNE_VERBOSE: '' };
  delete base.GPTUNE_CACHE_DIR;
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...base, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('train on a text folder writes nothing beside the data: --cache-dir, or the default cache folder', () => {
  const dir = tempDir('cache-');
  const data = join(dir, 'corpus');
  mkdirSync(data);
  writeFileSync(join(data, 'a.txt'), 'The quick brown fox jumps over the lazy dog. '.repeat(20));
  const run = (out: string, env: Record<string, string>, ...more: string[]) => gptune(['train', '--init', 'gpt2', '--tokenizer', 'gpt2',
    '--n-layer', '1', '--n-embd', '16', '--n-head', '2', '--seq-len', '16', '--batch-size', '2', '--max-steps', '1',
    '--data', data, '--out', join(dir, out), '--no-progress', ...more], env);
  const xdg = join(dir, 'xdg');
  const a = run('a', { XDG_CACHE_HOME: xdg });
  assert.equal(a.code, 0, a.err);
  const b = run('b', { XDG_CACHE_HOME: xdg }, '--cache-dir', join(dir, 'mine'));
  assert.equal(b.code, 0, b.err);
  assert.deepEqual(readdirSync(data), ['a.txt'], 'the data folder is only read');
  assert.deepEqual(readdirSync(dir).sort(), ['a', 'b', 'corpus', 'mine', 'xdg'], 'no cache beside the data folder');
  assert.equal(readdirSync(join(xdg, 'gptune', 'tokens')).filter((f) => f.endsWith('.tokens')).length, 1);
  assert.equal(readdirSync(join(dir, 'mine', 'tokens')).filter((f) => f.endsWith('.tokens')).length, 1);

  const ls = gptune(['cache', 'ls', '--json'], { XDG_CACHE_HOME: xdg });
  assert.equal(ls.code, 0, ls.err);
  const listed = JSON.parse(ls.out);
  assert.equal(listed.dir, join(xdg, 'gptune', 'tokens'));
  assert.deepEqual(listed.entries.map((e: { data: string }) => e.data), [data]);
  const clear = gptune(['cache', 'clear'], { GPTUNE_CACHE_DIR: join(dir, 'mine') });
  assert.equal(clear.code, 0, clear.err);
  assert.match(clear.out, /removed 2 file/);
  assert.deepEqual(readdirSync(join(dir, 'mine', 'tokens')), []);
});
