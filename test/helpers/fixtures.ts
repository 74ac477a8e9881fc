// Access to the golden fixtures in test/fixtures (copied from ../shared/fixtures).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { loadSafetensors } from '../../src/formats/safetensors.js';
import { generate } from '../../src/generate/generate.js';
import type { CausalLM } from '../../src/models/causal_lm.js';
import { expectClose } from './close.js';

/** test/fixtures, found from the compiled file's location (dist/test/helpers -> test/fixtures). */
export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures');

export function fixturePath(...parts: string[]): string {
  return join(FIXTURES, ...parts);
}

export function fixtureCases(model: string): any {
  return JSON.parse(readFileSync(fixturePath(model, 'cases.json'), 'utf8'));
}

/** All tensors of a fixture safetensors file as float32 (ints as Int32Array). */
export function fixtureTensors(...parts: string[]): Map<string, { shape: number[]; data: Float32Array | Int32Array }> {
  const { tensors } = loadSafetensors(fixturePath(...parts));
  const out = new Map<string, { shape: number[]; data: Float32Array | Int32Array }>();
  for (const [name, t] of tensors) {
    let data: Float32Array | Int32Array;
    if (t.data instanceof Float32Array || t.data instanceof Int32Array) data = t.data;
    else if (t.data instanceof BigInt64Array) data = Int32Array.from(t.data, (v) => Number(v));
    else throw new Error(`${parts.join('/')}: tensor ${name} has an unexpected dtype ${t.dtype}`);
    out.set(name, { shape: t.shape, data });
  }
  return out;
}

/** Greedy generation equals the fixture's tokens, and each step's logits its logits, with and without the KV cache. */
export function checkGreedyGeneration(model: CausalLM, prompt: number[], want: number[], stepLogits: ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> }, atol: number): void {
  for (const useCache of [true, false]) {
    const r = generate(model, prompt, { maxNewTokens: want.length, useCache, keepLogits: true });
    assert.deepEqual(r.ids, want, `useCache ${useCache}`);
    const V = r.stepLogits![0].length;
    r.stepLogits!.forEach((l, s) => expectClose(`step ${s} logits (cache ${useCache})`, l, stepLogits.subarray(s * V, (s + 1) * V), { atol, rtol: 0 }));
  }
}
