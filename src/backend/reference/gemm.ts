// Reference GEMM: the spec for the native kernel, a plain triple loop that is obviously right.
// Sums are accumulated in double (JS numbers) and rounded to float32 once, when stored in C.
import { isPackedBf16, isQuantWeight, type F32, type HalfWeight, type PackedBf16, type StoredWeight } from '../backend.js';
import { bf16ToF32, f16ToF32, f32ToBF16 } from '../../formats/dtype.js';
import { dequantizeWeight } from '../quant_weight.js';

/** gemm of both operands rounded to bf16 (nearest, ties to even): the spec of the native gemmBf16. */
export function gemmBf16(c: F32, a: F32, bIn: F32 | StoredWeight | PackedBf16, m: number, n: number, k: number,
  transA: boolean, transB: boolean, accumulate: boolean): void {
  if (isPackedBf16(bIn)) {
    checkPacked(bIn, n, k, transB);
    bIn = bIn.data as F32; // packBf16 below: op(B) already rounded, in B's layout
  }
  if (!(bIn instanceof Float32Array) && isQuantWeight(bIn)) return gemm(c, a, bIn, m, n, k, transA, transB, accumulate);
  const b = bIn instanceof Float32Array ? bIn : bIn.dtype === 'BF16' ? bf16ToF32(bIn.bits) : f16ToF32(bIn.bits);
  gemm(c, roundToBf16(a), roundToBf16(b), m, n, k, transA, transB, accumulate);
}

/** The spec's packing: op(B) rounded to bf16 once (B's layout kept); nothing to reuse. */
export function packBf16(b: F32 | HalfWeight, n: number, k: number, transB: boolean, _reuse?: PackedBf16): PackedBf16 {
  const w = b instanceof Float32Array ? b : b.dtype === 'BF16' ? bf16ToF32(b.bits) : f16ToF32(b.bits);
  if (w.length < n * k) throw new RangeError(`packBf16: b holds ${w.length} values, op(B) [${k}, ${n}] needs ${n * k}`);
  return { dtype: 'PACKED_BF16', n, k, transB, data: roundToBf16(w.subarray(0, n * k)) };
}

/** A packed operand is only valid for the product it was packed for. */
export function checkPacked(p: PackedBf16, n: number, k: number, transB: boolean): void {
  if (p.n !== n || p.k !== k || p.transB !== transB) {
    throw new RangeError(`gemmBf16: operand packed as op(B) [${p.k}, ${p.n}] transB ${p.transB}, used as [${k}, ${n}] transB ${transB}`);
  }
}

function roundToBf16(x: F32): F32 {
  return bf16ToF32(f32ToBF16(x));
}

/**
 * C[M,N] = (accumulate ? C : 0) + op(A) @ op(B).
 * a: [M,K], or [K,M] when transA. b: [K,N], or [N,K] when transB. c: [M,N]. Row-major, contiguous.
 */
export function gemm(c: F32, a: F32, bIn: F32 | StoredWeight, m: number, n: number, k: number,
  transA: boolean, transB: boolean, accumulate: boolean): void {
  // A 16-bit or quantized B is widened first (exact), then multiplied as f32: the spec of the native
  // widening. Blocks stored transposed flip transB.
  let b: F32;
  if (bIn instanceof Float32Array) b = bIn;
  else if (isQuantWeight(bIn)) {
    b = dequantizeWeight(bIn, k * n);
    if (bIn.transposed) transB = !transB;
  } else b = bIn.dtype === 'BF16' ? bf16ToF32(bIn.bits) : f16ToF32(bIn.bits);
  // Element strides of op(A)[i,p] and op(B)[p,j] inside the stored arrays.
  const aRow = transA ? 1 : k, aCol = transA ? m : 1; // op(A)[i,p] = a[i*aRow + p*aCol]
  const bRow = transB ? 1 : n, bCol = transB ? k : 1; // op(B)[p,j] = b[p*bRow + j*bCol]
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = accumulate ? c[i * n + j] : 0;
      for (let p = 0; p < k; p++) s += a[i * aRow + p * aCol] * b[p * bRow + j * bCol];
      c[i * n + j] = s;
    }
  }
}
