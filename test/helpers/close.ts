// Comparison helpers that print enough to diagnose a failure: the first values and the worst element.
import assert from 'node:assert/strict';

export interface Tolerance { atol?: number; rtol?: number }

/** Asserts |actual - expected| <= atol + rtol * |expected| elementwise. */
export function expectClose(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>,
  { atol = 1e-5, rtol = 1e-4 }: Tolerance = {}): void {
  assert.equal(actual.length, expected.length, `${name}: length ${actual.length} != expected ${expected.length}`);
  let worst = -1, worstExcess = 0, maxdiff = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= maxdiff)) maxdiff = Number.isNaN(d) ? Infinity : Math.max(maxdiff, d);
    const excess = d - (atol + rtol * Math.abs(expected[i]));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) { worst = i; worstExcess = excess; }
  }
  if (worst >= 0) {
    const head = Array.from({ length: Math.min(5, actual.length) }, (_, i) => `${actual[i]} vs ${expected[i]}`).join(', ');
    assert.fail(`${name}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
      `(atol ${atol}, rtol ${rtol}); maxdiff ${maxdiff}; first: ${head}`);
  }
}

/** A small seeded generator (mulberry32) for test data; normal() by Box-Muller. */
export function rng(seed: number) {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return {
    uniform,
    normal,
    f32(n: number, scale = 1): Float32Array {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = normal() * scale;
      return a;
    },
    ints(n: number, max: number): Int32Array {
      const a = new Int32Array(n);
      for (let i = 0; i < n; i++) a[i] = Math.floor(uniform() * max);
      return a;
    },
  };
}
