// The machine's read bandwidth, measured once per bench process: the bound decode speed is held to
// (a decoded token reads every weight once).
import { backend } from '../src/backend/select.js';
import { timeit } from './harness.js';

let measured: number | null = null;

/** Read bandwidth in GB/s: a threaded sum over 1 GiB (far beyond the caches). */
export function readBandwidth(): number {
  if (measured !== null) return measured;
  const a = new Float32Array(1 << 28).fill(1);
  const s = timeit(() => { backend().sum(a, a.length); }, { warmup: 1, minIters: 5, minSeconds: 1 });
  measured = a.byteLength / s / 1e9;
  return measured;
}
