// Quantizing a Llama-3.2-1B-sized set of weights (1.2e9 f32 values, in chunks as a load quantizes one
// tensor at a time) to Q8_0, Q4_0 and NF4: the backend's kernels (--base-quant, GGUF export) against the
// TypeScript reference they replaced, both timed over the whole set after checking their bytes agree.
import { quantizeGgml as refGgml, quantizeNf4 as refNf4 } from '../../src/backend/reference/quantize.js';
import { backend } from '../../src/backend/select.js';
import type { Backend } from '../../src/backend/backend.js';
import type { BenchContext, BenchRow } from '../harness.js';

const CHUNK = 1 << 24;   // values per call: a 4096 x 4096 weight
type Quantizer = (x: Float32Array) => void;

function randn(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const u = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return (s + 0.5) / 4294967296; };
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()) * 0.02;
  return a;
}

/** The three formats through one backend: each call quantizes x into preallocated outputs. */
function quantizers(b: Pick<Backend, 'quantizeGgml' | 'quantizeNf4'>): Record<string, Quantizer> {
  const out = new Uint8Array(CHUNK / 32 * 34), codes = new Uint8Array(CHUNK / 64), absmax2 = new Float32Array(CHUNK / 64 / 256);
  return {
    Q8_0: (x) => b.quantizeGgml(out, x, x.length, false),
    Q4_0: (x) => b.quantizeGgml(out, x, x.length, true),
    NF4: (x) => { b.quantizeNf4(out, codes, absmax2, x, x.length); },
  };
}

/** Bytes each format writes for x, to compare the two before timing. */
function bytesOf(b: Pick<Backend, 'quantizeGgml' | 'quantizeNf4'>, type: string, x: Float32Array): Uint8Array {
  if (type !== 'NF4') { const o = new Uint8Array(x.length / 32 * (type === 'Q4_0' ? 18 : 34)); b.quantizeGgml(o, x, x.length, type === 'Q4_0'); return o; }
  const o = new Uint8Array(x.length / 2 + x.length / 64 + 4 * Math.ceil(x.length / 64 / 256));
  const offset = b.quantizeNf4(o.subarray(0, x.length / 2), o.subarray(x.length / 2, x.length / 2 + x.length / 64), new Float32Array(o.buffer, x.length / 2 + x.length / 64, Math.ceil(x.length / 64 / 256)), x, x.length);
  return Uint8Array.of(...o, ...new Uint8Array(Float32Array.of(offset).buffer));
}

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const b = backend();
  const chunks = ctx.quick ? 2 : 72;   // 72 x 2^24 = 1.21e9 values, Llama-3.2-1B's parameter count
  const data = [randn(CHUNK, 1), randn(CHUNK, 2)];
  const fast = quantizers(b), ref = quantizers({ quantizeGgml: refGgml, quantizeNf4: refNf4 });
  const seconds = (q: Quantizer) => {
    q(data[1]);   // warm: the JIT, and the outputs' pages
    const t0 = performance.now();
    for (let c = 0; c < chunks; c++) q(data[c % 2]);
    return (performance.now() - t0) / 1000;
  };
  const rows: BenchRow[] = [];
  for (const type of Object.keys(fast)) {
    const probe = data[0].subarray(0, 1 << 16);
    const got = bytesOf(b, type, probe), want = bytesOf({ quantizeGgml: refGgml, quantizeNf4: refNf4 }, type, probe);
    if (got.length !== want.length || got.some((v, i) => v !== want[i])) throw new Error(`quantize ${type}: the ${b.name} backend's bytes differ from the reference's; not timing a wrong kernel`);
    const s = seconds(fast[type]), r = seconds(ref[type]);
    const n = chunks * CHUNK;
    rows.push({
      bench: 'quantize', case: `${type} ${(n / 1e9).toFixed(2)}e9 values`, unit: 'Mvalues/s', gptune: n / s / 1e6,
      peer: n / r / 1e6, peerName: 'ts-reference', note: `${s.toFixed(2)} s vs ${r.toFixed(1)} s (${b.name} backend, ${b.threads} threads)`,
    });
  }
  return rows;
}
