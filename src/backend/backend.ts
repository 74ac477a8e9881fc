// The kernel contract that every backend implements: plain typed arrays in, typed arrays out.
// `reference` (plain TypeScript) is the spec; `native` (C++ SIMD) must match it kernel by kernel.
//
// Conventions, the same for every kernel:
// - float32, row-major, contiguous. Dimensions are passed explicitly; buffers may be longer than needed.
// - The first arguments are the outputs. Forward kernels overwrite their outputs.
// - Backward kernels ACCUMULATE (+=) into their gradient outputs, so a tensor used twice sums its grads.
// - Token ids and targets are Int32Array; -100 in targets means "ignore" (Hugging Face's ignore_index).

import type { Nf4Blocks } from '../formats/nf4.js';

export type F32 = Float32Array;
export type I32 = Int32Array;
export type BackendName = 'reference' | 'native';
/** A weight kept as 16-bit patterns (bf16 or IEEE f16); kernels widen it to f32 as they read it. */
export interface HalfWeight { readonly dtype: 'BF16' | 'F16'; readonly bits: Uint16Array }
/**
 * A weight in ggml's Q8_0 / Q4_0 blocks (formats/ggml_quant.ts), 32 values per block along its
 * stored rows. transposed: the blocks hold the transpose of the logical tensor (GPT-2's Conv1D
 * [in, out] kept as [out, in], ggml's layout, so blocks run along the input dimension).
 */
export interface GgmlQuantWeight { readonly dtype: 'Q8_0' | 'Q4_0'; readonly blocks: Uint8Array; readonly transposed: boolean }
/**
 * A weight in bitsandbytes' NF4 with double quantization (formats/nf4.ts): blocks of 64 over the
 * stored tensor flattened row-major (so across rows when a row is not whole blocks). transposed as above.
 */
export interface Nf4Weight extends Nf4Blocks { readonly dtype: 'NF4'; readonly transposed: boolean }
export type QuantWeight = GgmlQuantWeight | Nf4Weight;
/** A frozen weight kept in something other than f32; kernels widen it as they read it. */
export type StoredWeight = HalfWeight | QuantWeight;
export function isQuantWeight(w: StoredWeight): w is QuantWeight { return 'blocks' in w; }
/**
 * op(B) of gemmBf16 rounded to bf16 once and laid out for the backend's kernel (packBf16), for a
 * weight that many products share while it does not change (the fused head's row blocks). `data` is
 * the backend's own: AVX-512 BF16 panels, or the operand itself where the backend rounds per call.
 */
export interface PackedBf16 { readonly dtype: 'PACKED_BF16'; readonly n: number; readonly k: number; readonly transB: boolean; readonly data: Uint32Array | F32 | HalfWeight }
export function isPackedBf16(w: F32 | StoredWeight | PackedBf16): w is PackedBf16 { return !(w instanceof Float32Array) && w.dtype === 'PACKED_BF16'; }

/** A target id that counts for no loss and no gradient (PyTorch's and Hugging Face's -100). */
export const IGNORE_INDEX = -100;

export interface Backend {
  readonly name: BackendName;
  /** Threads the backend uses (1 for reference). */
  readonly threads: number;

  // ---- matmul ----
  /**
   * C[M,N] = (accumulate ? C : 0) + op(A) @ op(B).
   * op(A) is [M,K]: A is stored [M,K], or [K,M] when transA. op(B) is [K,N]: B is [K,N], or [N,K] when transB.
   * B may be a 16-bit weight: the result is then bit for bit that of B widened to f32 (every bf16/f16
   * value is exactly an f32 one), with half the bytes of B read. A quantized B gives the result for
   * B dequantized (exact f32 values too); its stored rows must be whole blocks.
   */
  gemm(c: F32, a: F32, b: F32 | StoredWeight, m: number, n: number, k: number,
    transA: boolean, transB: boolean, accumulate: boolean): void;
  /**
   * Mixed precision (PyTorch's autocast to bf16): C = (accumulate ? C : 0) + bf16(op(A)) @ bf16(op(B)),
   * each operand rounded to the nearest bf16 (ties to even), products summed in f32. Same layout as gemm.
   * A quantized B (--base-quant) is multiplied as gemm does (dequantized exactly, f32 sums): its values
   * are not bf16 values, and QLoRA computes on the dequantized weight in the compute dtype it was given.
   */
  gemmBf16(c: F32, a: F32, b: F32 | StoredWeight | PackedBf16, m: number, n: number, k: number,
    transA: boolean, transB: boolean, accumulate: boolean): void;
  /**
   * op(B) [k, n] (B [k, n], or [n, k] when transB) prepared for gemmBf16: the same results as passing
   * b itself, with the rounding and packing done here once. Valid while b's values do not change.
   * reuse: an earlier packing (any operand) whose memory may be overwritten and returned: packing a
   * changing weight each step into the same buffer spares the page faults of a new one.
   */
  packBf16(b: F32 | HalfWeight, n: number, k: number, transB: boolean, reuse?: PackedBf16): PackedBf16;
  /** Whether gemmBf16 runs on bf16 hardware (AVX-512 BF16); elsewhere it rounds and runs the f32 GEMM. */
  readonly bf16Hardware: boolean;
  /** out[r,c] += bias[c] for out [rows, cols]. */
  addBias(out: F32, bias: F32, rows: number, cols: number): void;
  /** out[c] += sum over r of x[r,c] for x [rows, cols] (the bias gradient). */
  sumRows(out: F32, x: F32, rows: number, cols: number): void;

  // ---- loading ----
  /** out[i] = src[i] widened to f32, src holding n f16 (bf16 false) or bf16 (bf16 true) bit patterns. */
  halfToF32(out: F32, src: Uint16Array, n: number, bf16: boolean): void;

  // ---- quantizing (--base-quant, GGUF export); formats/ggml_quant.ts and formats/nf4.ts are the spec, byte for byte ----
  /** x[0:n] (n a multiple of 32) -> n/32 ggml blocks in out: Q8_0 (34 bytes each), or Q4_0 (18 bytes) when q4. */
  quantizeGgml(out: Uint8Array, x: F32, n: number, q4: boolean): void;
  /**
   * x[0:n] (n a multiple of 64) -> NF4 with double quantization (formats/nf4.ts quantizeNf4): blocks [n/2],
   * absmaxCodes [n/64], absmax2 [ceil(n/64/256)]; returns the offset.
   */
  quantizeNf4(blocks: Uint8Array, absmaxCodes: Uint8Array, absmax2: F32, x: F32, n: number): number;

  // ---- elementwise (n elements) ----
  add(out: F32, a: F32, b: F32, n: number): void;           // out = a + b
  mul(out: F32, a: F32, b: F32, n: number): void;           // out = a * b
  scale(out: F32, a: F32, s: number, n: number): void;      // out = s * a
  axpy(y: F32, alpha: number, x: F32, n: number): void;     // y += alpha * x
  /** y += alpha * a * b (the backward of mul). */
  addMul(y: F32, alpha: number, a: F32, b: F32, n: number): void;
  sum(x: F32, n: number): number;
  sumSquares(x: F32, n: number): number;

  // ---- activations ----
  /** GPT-2's gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
  geluForward(out: F32, x: F32, n: number): void;
  geluBackward(dx: F32, dout: F32, x: F32, n: number): void;
  /** BERT's exact gelu: 0.5 x (1 + erf(x / sqrt(2))). */
  geluErfForward(out: F32, x: F32, n: number): void;
  geluErfBackward(dx: F32, dout: F32, x: F32, n: number): void;
  /** tanh (BERT's pooler, RoBERTa's classification head); backward takes the output y: dx += dout (1 - y^2). */
  tanhForward(out: F32, x: F32, n: number): void;
  tanhBackward(dx: F32, dout: F32, y: F32, n: number): void;
  /** silu(x) = x * sigmoid(x). */
  siluForward(out: F32, x: F32, n: number): void;
  siluBackward(dx: F32, dout: F32, x: F32, n: number): void;

  // ---- normalisation; x, out [rows, cols]; mean, rstd [rows] are saved for backward ----
  layerNormForward(out: F32, mean: F32, rstd: F32, x: F32, weight: F32, bias: F32,
    rows: number, cols: number, eps: number): void;
  layerNormBackward(dx: F32, dweight: F32, dbias: F32, dout: F32, x: F32, mean: F32, rstd: F32,
    weight: F32, rows: number, cols: number): void;
  /** out = x * rstd * weight, rstd = 1 / sqrt(mean(x^2) + eps) (Llama's RMSNorm, computed in f32). */
  rmsNormForward(out: F32, rstd: F32, x: F32, weight: F32, rows: number, cols: number, eps: number): void;
  rmsNormBackward(dx: F32, dweight: F32, dout: F32, x: F32, rstd: F32, weight: F32,
    rows: number, cols: number): void;

  // ---- softmax over the last dim of x [rows, cols] ----
  softmaxForward(out: F32, x: F32, rows: number, cols: number): void;
  softmaxBackward(dx: F32, dout: F32, out: F32, rows: number, cols: number): void;

  /**
   * Rotary embedding, Hugging Face's rotate_half form (pairs i and i + D/2), on x [tokens, heads, D].
   * cos, sin: [maxPos, D/2]; positions: [tokens]. inverse rotates by -theta (the backward).
   * out may alias x.
   */
  rope(out: F32, x: F32, cos: F32, sin: F32, positions: I32, tokens: number, heads: number,
    headDim: number, inverse: boolean): void;

  /**
   * Scaled dot-product attention without a [T,T] matrix.
   * q, out: [B, T, H, D]; k, v: [B, T, KVH, D] (H % KVH == 0: query head h reads kv head h / (H/KVH)).
   * lse: [B, H, T], the log-sum-exp of each query's scores, saved for backward.
   * causal: query t sees keys <= t. segments: null, or [B, T] ids; a query sees only keys of its own
   * segment (block-diagonal mask for packed sequences). window: 0, or query t sees only keys
   * s > t - window (Mistral / Gemma sliding-window layers).
   */
  attentionForward(out: F32, lse: F32, q: F32, k: F32, v: F32, batch: number, seqLen: number,
    heads: number, kvHeads: number, headDim: number, scale: number, causal: boolean,
    segments: I32 | null, window: number): void;
  attentionBackward(dq: F32, dk: F32, dv: F32, dout: F32, q: F32, k: F32, v: F32, out: F32, lse: F32,
    batch: number, seqLen: number, heads: number, kvHeads: number, headDim: number, scale: number,
    causal: boolean, segments: I32 | null, window: number): void;

  /**
   * Attention for generation against a KV cache. q, out: [B, Tq, H, D], the queries at positions
   * past .. past+Tq-1; kCache, vCache: [B, maxLen, KVH, D], a ring: position p sits in slot p % maxLen.
   * Query i attends causally to positions <= past + i, and with window > 0 only to those
   * > past + i - window (a window-sized ring suffices then). No backward (inference only).
   */
  attentionDecode(out: F32, q: F32, kCache: F32, vCache: F32, batch: number, qLen: number, past: number,
    maxLen: number, heads: number, kvHeads: number, headDim: number, scale: number, window: number): void;

  /**
   * Fused log-softmax + negative log-likelihood over logits [rows, vocab].
   * losses[r] = logsumexp(logits[r]) - logits[r, target[r]], or 0 when target is -100; lse[r] saved.
   */
  crossEntropyForward(losses: F32, lse: F32, logits: F32, targets: I32, rows: number, vocab: number): void;
  /** dlogits[r] += dlosses[r] * (softmax(logits[r]) - onehot(target[r])); ignored rows add nothing. */
  crossEntropyBackward(dlogits: F32, dlosses: F32, logits: F32, lse: F32, targets: I32,
    rows: number, vocab: number): void;

  // ---- embedding; weight [vocab, dim], ids [n] ----
  embeddingForward(out: F32, weight: F32, ids: I32, n: number, dim: number): void;
  embeddingBackward(dweight: F32, dout: F32, ids: I32, n: number, dim: number): void;

  /**
   * Inverted dropout with a counter-based mask: element i is kept iff dropoutHash(seed, offset + i) >= p * 2^32
   * (index mod 2^32), kept values are scaled by 1/(1-p). The mask is recomputed from the seed in backward, never
   * stored; offset places these elements in a larger batch (an MPI rank's rows draw the one-process mask).
   */
  dropoutForward(out: F32, x: F32, n: number, p: number, seed: number, offset: number): void;
  dropoutBackward(dx: F32, dout: F32, n: number, p: number, seed: number, offset: number): void;

  // ---- optimizers (in place on one parameter tensor) ----
  /** PyTorch's AdamW: decoupled decay, then the bias-corrected Adam step. step is 1-based. */
  adamw(param: F32, grad: F32, m: F32, v: F32, n: number, lr: number, beta1: number, beta2: number,
    eps: number, weightDecay: number, step: number): void;
  /** PyTorch's SGD with momentum (buf initialised to grad on the first step), dampening, nesterov. */
  sgd(param: F32, grad: F32, buf: F32, n: number, lr: number, momentum: number, dampening: number,
    nesterov: boolean, weightDecay: number, firstStep: boolean): void;
}
