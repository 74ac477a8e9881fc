// Reference rotary position embedding in Hugging Face's rotate_half form: element i (i < D/2)
// pairs with i + D/2 and the pair is rotated by theta[pos, i]. The backward is the inverse rotation.
import type { F32, I32 } from '../backend.js';

export function rope(out: F32, x: F32, cos: F32, sin: F32, positions: I32, tokens: number, heads: number,
  headDim: number, inverse: boolean): void {
  // out, x: [tokens, heads, headDim]; cos, sin: [maxPos, headDim/2]; positions: [tokens]
  if (headDim % 2 !== 0) throw new Error(`rope: headDim must be even, got ${headDim}`);
  const half = headDim / 2;
  const maxPos = half === 0 ? 0 : Math.floor(Math.min(cos.length, sin.length) / half);
  const sign = inverse ? -1 : 1; // rotating by -theta only flips sin
  for (let t = 0; t < tokens; t++) {
    const pos = positions[t];
    if (!(pos >= 0 && pos < maxPos)) {
      throw new Error(`rope: positions[${t}] = ${pos} is outside the ${maxPos} rows of cos/sin`);
    }
    for (let h = 0; h < heads; h++) {
      const o = (t * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[pos * half + i], s = sign * sin[pos * half + i];
        const a = x[o + i], b = x[o + i + half]; // read both before writing: out may alias x
        out[o + i] = a * c - b * s;
        out[o + i + half] = b * c + a * s;
      }
    }
  }
}
