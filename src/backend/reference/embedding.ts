// Reference embedding lookup (a row gather) and its backward (a scatter-add: ids may repeat).
import type { F32, I32 } from '../backend.js';

function checkId(kernel: string, ids: I32, i: number, vocab: number): number {
  const id = ids[i];
  if (!(id >= 0 && id < vocab)) throw new Error(`${kernel}: ids[${i}] = ${id} is outside the vocabulary [0, ${vocab})`);
  return id;
}

/** out[i] = weight[ids[i]]; out [n, dim], weight [vocab, dim] (vocab = weight.length / dim). */
export function embeddingForward(out: F32, weight: F32, ids: I32, n: number, dim: number): void {
  const vocab = dim > 0 ? Math.floor(weight.length / dim) : 0;
  for (let i = 0; i < n; i++) {
    const id = checkId('embeddingForward', ids, i, vocab);
    for (let c = 0; c < dim; c++) out[i * dim + c] = weight[id * dim + c];
  }
}

/** dweight[ids[i]] += dout[i]; dweight [vocab, dim], dout [n, dim]. */
export function embeddingBackward(dweight: F32, dout: F32, ids: I32, n: number, dim: number): void {
  const vocab = dim > 0 ? Math.floor(dweight.length / dim) : 0;
  for (let i = 0; i < n; i++) checkId('embeddingBackward', ids, i, vocab); // all or nothing
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    for (let c = 0; c < dim; c++) dweight[id * dim + c] += dout[i * dim + c];
  }
}
