// Access to the golden fixtures in test/fixtures (copied from ../shared/fixtures).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSafetensors } from '../../src/formats/safetensors.js';

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
