// Native kernels read their arguments by position (args.f32(0, "out", ...)); this ties each one to
// the Backend method of its name: same count, same names in the same order, and no kernel missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { nativeAddon } from '../../src/backend/select.js';

const root = process.cwd();

/** Backend method -> parameter names, from the interface's source. */
function interfaceParams(): Map<string, string[]> {
  const src = readFileSync(join(root, 'src', 'backend', 'backend.ts'), 'utf8');
  const body = src.slice(src.indexOf('export interface Backend {'));
  const methods = new Map<string, string[]>();
  for (const m of body.matchAll(/^\s+(\w+)\(([^)]*)\):/gm)) {
    const params = m[2].split(',').map((p) => p.trim()).filter(Boolean).map((p) => p.split(/[?:]/)[0].trim());
    methods.set(m[1], params);
  }
  return methods;
}

/**
 * Native kernel -> argument names by position, from every GPTUNE_KERNEL body under native/src.
 * Reads inside helpers that take positions as parameters (read_geometry(args, 5)) count at the call.
 */
function nativeArgs(): Map<string, string[]> {
  const dir = join(root, 'native', 'src');
  const kernels = new Map<string, string[]>();
  // mpi/ is the separate MPI addon (gptune_mpi.node), not part of this one.
  for (const f of readdirSync(dir, { recursive: true }).map(String).filter((f) => /\.(cc|inl)$/.test(f) && !f.startsWith('mpi'))) {
    const src = readFileSync(join(dir, f), 'utf8');
    // Helpers: name -> their position parameters, and the reads as (parameter, offset, arg name).
    const helpers = new Map<string, { params: string[]; reads: [string, number, string][] }>();
    for (const h of src.matchAll(/\b(\w+)\(Args& args((?:, (?:size_t|int|int64_t) \w+)+)\) \{([\s\S]*?)\n\}/g)) {
      const params = h[2].split(',').map((x) => x.trim().split(' ')[1]).filter(Boolean);
      const reads: [string, number, string][] = [];
      for (const r of h[3].matchAll(/args\.\w+\((\w+)(?: \+ (\d+))?,\s*"(\w+)"/g)) reads.push([r[1], Number(r[2] ?? 0), r[3]]);
      helpers.set(h[1], { params, reads });
    }
    const starts = [...src.matchAll(/GPTUNE_KERNEL\((\w+)\)\s*\{/g)];
    starts.forEach((s, i) => {
      const body = src.slice(s.index!, i + 1 < starts.length ? starts[i + 1].index : src.length);
      const names: string[] = [];
      const put = (at: number, name: string) => {
        if (names[at] !== undefined && names[at] !== name) assert.fail(`${f}: ${s[1]} reads argument ${at} as both '${names[at]}' and '${name}'`);
        names[at] = name;
      };
      for (const a of body.matchAll(/args\.\w+\((\d+),\s*"(\w+)"/g)) put(Number(a[1]), a[2]);
      for (const c of body.matchAll(/\b(\w+)\(args((?:, \d+)+)\)/g)) {
        const h = helpers.get(c[1]);
        if (!h) continue;
        const values = c[2].split(',').map((x) => x.trim()).filter(Boolean).map(Number);
        for (const [param, offset, name] of h.reads) put(values[h.params.indexOf(param)] + offset, name);
      }
      kernels.set(s[1], names);
    });
  }
  return kernels;
}

// Runtime controls of the addon, not Backend kernels (typed in NativeAddon); mapFile/populateMapped map checkpoints (formats/mapped_file.ts).
const CONTROLS = new Set(['isa', 'threads', 'setThreads', 'setIsa', 'fmaPeak', 'bf16Hardware', 'mapFile', 'populateMapped']);
// Native kernels that serve one Backend method for another operand type (src/backend/native/index.ts
// dispatches): the method's arguments, then these extra ones.
const VARIANTS: Record<string, { method: string; extra: string[] }> = { gemmHalf: { method: 'gemm', extra: ['f16'] }, gemmQuant: { method: 'gemm', extra: ['q4'] },
  gemmNf4: { method: 'gemm', extra: ['absmaxCodes', 'absmax2', 'code8', 'offset'] } };
// Native kernels that take one trailing argument more than their Backend method (the B operand's kind).
const EXTRA: Record<string, string[]> = { gemmBf16: ['bKind'], packBf16: ['bKind'], quantizeNf4: ['code8'] };

test('every native kernel takes the arguments of its Backend method, by count and name', () => {
  const want = interfaceParams();
  const have = nativeArgs();
  assert.ok(want.size > 25 && have.size > 25, `parsed ${want.size} interface methods, ${have.size} kernels`);
  for (const [name, params] of want) {
    const args = have.get(name);
    assert.ok(args, `Backend.${name} has no native kernel`);
    const holes = [...args.keys()].filter((i) => args[i] === undefined);
    assert.deepEqual(holes, [], `native ${name} never reads arguments ${holes.join(', ')}`);
    assert.deepEqual(args, [...params, ...(EXTRA[name] ?? [])], `native ${name}(${args.join(', ')}) vs Backend.${name}(${params.join(', ')})`);
  }
  for (const [name, v] of Object.entries(VARIANTS)) {
    assert.deepEqual(have.get(name), [...want.get(v.method)!, ...v.extra], `native ${name} takes Backend.${v.method}'s arguments, then ${v.extra.join(', ')}`);
  }
  for (const name of have.keys()) assert.ok(want.has(name) || CONTROLS.has(name) || name in VARIANTS, `native ${name} is neither a Backend kernel nor a known control`);
});

test('the loaded addon exports exactly the parsed kernels and controls', (t) => {
  const { addon } = nativeAddon();
  if (!addon) return t.skip('the native addon is not built');
  const exported = Object.keys(addon).sort();
  assert.deepEqual(exported, [...nativeArgs().keys()].sort());
  assert.equal(typeof addon.fmaPeak, 'function', 'fmaPeak is in the typed surface');
});
