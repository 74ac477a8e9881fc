// GPTUNE_BACKEND, GPTUNE_THREADS and GPTUNE_ISA are parsed in one place (src/backend/env.ts) and
// refused by name when invalid; the addon gets the parsed values (it reads no environment itself).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readBackendEnv } from '../../src/backend/env.js';
import { nativeAddon } from '../../src/backend/select.js';

test('valid values parse; unset ones stay unset', () => {
  assert.deepEqual(readBackendEnv({}), {});
  assert.deepEqual(readBackendEnv({ GPTUNE_BACKEND: 'native', GPTUNE_THREADS: '4', GPTUNE_ISA: 'avx2' }), { backend: 'native', threads: 4, isa: 'avx2' });
});

test('invalid values are refused, naming the variable and the value', () => {
  for (const [name, value] of [['GPTUNE_BACKEND', 'cuda'], ['GPTUNE_THREADS', '4x'], ['GPTUNE_THREADS', '0'], ['GPTUNE_THREADS', '1.5'],
    ['GPTUNE_THREADS', ''], ['GPTUNE_THREADS', '999'], ['GPTUNE_ISA', 'avx3'], ['GPTUNE_ISA', 'AVX2']]) {
    assert.throws(() => readBackendEnv({ [name]: value }), new RegExp(`${name} must .*got '${value.replace('.', '\\.')}'`), `${name}=${value}`);
  }
});

const probe = `import { backend } from './dist/src/backend/select.js'; import { nativeAddon } from './dist/src/backend/select.js';
backend(); const a = nativeAddon().addon; console.log(JSON.stringify({ isa: a.isa(), threads: a.threads() }));`;
const run = (env: Record<string, string>) => spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8', env: { ...process.env, ...env } });

test('the native backend takes GPTUNE_ISA and GPTUNE_THREADS from the parsed environment', (t) => {
  if (!nativeAddon().addon) return t.skip('the native addon is not built');
  const r = run({ GPTUNE_BACKEND: 'native', GPTUNE_ISA: 'scalar', GPTUNE_THREADS: '3' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { isa: 'scalar', threads: 3 });
  const bad = run({ GPTUNE_BACKEND: 'native', GPTUNE_ISA: 'avx3' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /GPTUNE_ISA must be one of scalar, avx2, avx512, got 'avx3'/);
});
