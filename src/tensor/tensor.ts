// Tensor: a float32 buffer (or, for frozen parameters, the checkpoint's bf16/f16 bits or ggml blocks) with a shape, an optional gradient, and its place on the autograd tape.
// Three kinds: parameters (persistent leaves), activations (pooled; freed when their step's
// backward finishes, or as soon as a forward block ends when no backward reads them) and views
// (share an activation's buffer, e.g. reshape).
import { allocUninit, allocZeros, release } from './pool.js';
import { type Shape, checkShape, shapeStr, sizeOf } from './shape.js';
import { backward as runBackward, track } from './tape.js';
import { isQuantWeight, type HalfWeight, type QuantWeight, type StoredWeight } from '../backend/backend.js';
import { bf16ToF32, f16ToF32 } from '../formats/dtype.js';
import { dequantizeWeight, heldBytes, quantizable, quantizeWeight, quantShapeRule, quantWeightBytes } from '../backend/quant_weight.js';

export type TensorKind = 'param' | 'activation' | 'view' | 'const';

export class Tensor {
  readonly shape: Shape;
  readonly size: number;
  private buffer: Float32Array;
  grad: Float32Array | null = null;
  requiresGrad = false;
  readonly kind: TensorKind;
  /** A name for error messages (parameters carry their checkpoint name). */
  name = '';
  private disposed = false;
  /** The activation whose buffer a view shares (views of views point at the owner). */
  readonly base: Tensor | null = null;
  /** How many recorded backward closures read this buffer (counted on the owner, see tape.record). */
  savedBy = 0;
  /** Set when the forward released the buffer early: no backward reads it, or it can be recomputed. */
  private dataReleased = false;
  /** How to rebuild the values from tensors that backward keeps anyway (selective recomputation). */
  private recipe: { from: readonly Tensor[]; fill: (out: Float32Array) => void } | null = null;
  /** A frozen parameter kept in its checkpoint's 16-bit dtype or quantized (then `buffer` is empty). */
  private stored: StoredWeight | null = null;
  /** A zero-initialised parameter whose buffer is not allocated yet (see zerosParam). */
  private unallocated = false;

  private constructor(data: Float32Array, shape: Shape, kind: TensorKind, base: Tensor | null = null) {
    this.shape = shape;
    this.size = sizeOf(shape);
    this.buffer = data;
    this.kind = kind;
    this.base = base;
  }

  /**
   * The values. Released values with a recipe are recomputed on first use (in backward); without
   * one this throws, so a missing save fails loudly instead of reading reused memory.
   */
  get data(): Float32Array {
    if (this.base !== null) return this.base.data;
    if (this.stored) throw new Error(`${this.toString()}: held as ${this.stored.dtype} (its stored dtype); GEMMs read weightOperand, others toFloat32()`);
    if (this.unallocated) {
      this.buffer = new Float32Array(this.size);
      this.unallocated = false;
    }
    if (this.dataReleased) {
      if (!this.recipe || this.disposed) {
        throw new Error(`${this.toString()}: its values were released after the forward block that made it (no backward declared them saved)`);
      }
      const buf = allocUninit(this.size);
      this.recipe.fill(buf);
      this.buffer = buf;
      this.dataReleased = false;
    }
    return this.buffer;
  }

  /**
   * Declares that fill(out) rebuilds this activation's values from `from` (a pointwise op of a
   * saved input: gelu, a norm), so a forward block may drop them even when a backward reads them.
   */
  recomputableFrom(from: readonly Tensor[], fill: (out: Float32Array) => void): void {
    if (this.kind === 'activation') this.recipe = { from, fill };
  }

  /**
   * Releases values that backward reads but can recompute: only when a recipe exists and its inputs
   * are kept anyway (leaves, or saved and not released); pins those inputs. Returns whether it did.
   */
  releaseRecomputable(): boolean {
    const recipe = this.recipe;
    if (!recipe || this.kind !== 'activation' || this.dataReleased || this.disposed) return false;
    // An input stays available if it is a leaf, or saved and either resident or itself rebuildable
    // (a released saved tensor with a recipe has pinned its own inputs: gelu(layerNorm(x)) chains).
    const kept = (t: Tensor) => {
      const o = t.owner;
      return o.kind === 'param' || o.kind === 'const' || (o.savedBy > 0 && (!o.dataReleased || o.recipe !== null));
    };
    if (!recipe.from.every(kept)) return false;
    for (const t of recipe.from) if (t.owner.kind === 'activation') t.owner.savedBy++;
    this.releaseData();
    return true;
  }

  /** A trainable leaf owning its data (not pooled, never freed by the tape). */
  static param(data: Float32Array, shape: Shape, name = ''): Tensor {
    checkShape('param', shape);
    if (data.length !== sizeOf(shape)) throw new Error(`param ${name}: ${data.length} values for shape ${shapeStr(shape)}`);
    const t = new Tensor(data, [...shape], 'param');
    t.requiresGrad = true;
    t.name = name;
    return t;
  }

  /**
   * A trainable leaf of zeros whose buffer is allocated on first use: a model about to be loaded
   * with weights kept in their stored dtype never allocates (nor collects) the f32 copies.
   */
  static zerosParam(shape: Shape, name = ''): Tensor {
    checkShape('zerosParam', shape);
    const t = new Tensor(EMPTY, [...shape], 'param');
    t.unallocated = true;
    t.requiresGrad = true;
    t.name = name;
    return t;
  }

  /** 'F32', or the 16-bit dtype or ggml block type a frozen parameter is kept in (storeHalf, storeQuant). */
  get storedDtype(): 'F32' | StoredWeight['dtype'] { return this.stored ? this.stored.dtype : 'F32'; }

  /** What a GEMM reads as this weight: the f32 values, or the 16-bit ones it widens as it packs them. */
  get weightOperand(): Float32Array | StoredWeight { return this.stored ?? this.data; }

  /**
   * Keeps this parameter as 16-bit patterns (bf16 or f16) and drops its f32 buffer: half the memory.
   * The weight is frozen from then on (an optimizer needs f32 values to update).
   */
  storeHalf(w: HalfWeight): void {
    if (this.kind !== 'param') throw new Error(`${this.toString()}: only parameters can be kept in a 16-bit dtype`);
    if (w.bits.length !== this.size) throw new Error(`${this.toString()}: ${w.bits.length} ${w.dtype} values for ${this.size} elements`);
    this.stored = w;
    this.buffer = EMPTY;
    this.unallocated = false;
    this.requiresGrad = false;
  }

  /** Keeps this 2-D parameter as ggml Q8_0/Q4_0 or NF4 blocks and drops its f32 buffer; frozen from then on. */
  storeQuant(w: QuantWeight): void {
    if (this.kind !== 'param' || this.rank !== 2) throw new Error(`${this.toString()}: only 2-D parameters can be quantized`);
    const [rows, cols] = w.transposed ? [this.shape[1], this.shape[0]] : this.shape;
    if (!quantizable(w.dtype, rows, cols)) throw new Error(`${this.toString()}: stored as [${rows}, ${cols}], not ${quantShapeRule(w.dtype)}`);
    if (heldBytes(w) !== quantWeightBytes(w.dtype, this.size)) throw new Error(`${this.toString()}: ${heldBytes(w)} bytes of ${w.dtype} for ${this.size} elements`);
    this.stored = w;
    this.buffer = EMPTY;
    this.unallocated = false;
    this.requiresGrad = false;
  }

  /**
   * Quantizes f32 values W (in this tensor's layout) to ggml or NF4 blocks and keeps those. transposed:
   * quantize W^T, so blocks run along the first dimension (a Conv1D [in, out] weight's input).
   * Defaults to how the weight is quantized now.
   */
  quantizeFrom(W: Float32Array, dtype: QuantWeight['dtype'], transposed = this.stored !== null && isQuantWeight(this.stored) && this.stored.transposed): void {
    let src = W;
    if (transposed) {
      const [rows, cols] = this.shape;
      src = new Float32Array(this.size); // [cols, rows]
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) src[c * rows + r] = W[r * cols + c];
    }
    this.storeQuant(quantizeWeight(dtype, src, transposed));
  }

  /** The values as float32: the buffer itself, or a widened (exact) or dequantized copy. */
  toFloat32(): Float32Array {
    const s = this.stored;
    if (!s) return this.data;
    if (!isQuantWeight(s)) return s.dtype === 'BF16' ? bf16ToF32(s.bits) : f16ToF32(s.bits);
    const w = dequantizeWeight(s, this.size);
    if (!s.transposed) return w;
    const [rows, cols] = this.shape, out = new Float32Array(this.size); // w is [cols, rows]
    for (let c = 0; c < cols; c++) for (let r = 0; r < rows; r++) out[r * cols + c] = w[c * rows + r];
    return out;
  }

  /** A constant leaf over caller-owned data (inputs, masks); optionally requiring grad. */
  static from(data: Float32Array | number[], shape: Shape, requiresGrad = false): Tensor {
    checkShape('from', shape);
    const arr = data instanceof Float32Array ? data : Float32Array.from(data);
    if (arr.length !== sizeOf(shape)) throw new Error(`Tensor.from: ${arr.length} values for shape ${shapeStr(shape)}`);
    const t = new Tensor(arr, [...shape], 'const');
    t.requiresGrad = requiresGrad;
    return t;
  }

  /** A pooled activation with unspecified contents; freed with its step (see tape.ts). */
  static empty(shape: Shape): Tensor {
    checkShape('empty', shape);
    const t = new Tensor(allocUninit(sizeOf(shape)), [...shape], 'activation');
    track(t);
    return t;
  }

  static zeros(shape: Shape): Tensor {
    checkShape('zeros', shape);
    const t = new Tensor(allocZeros(sizeOf(shape)), [...shape], 'activation');
    track(t);
    return t;
  }

  /** A view of this tensor's buffer with another shape of the same size. */
  view(shape: Shape): Tensor {
    const t = new Tensor(EMPTY, shape, 'view', this.owner);
    track(t);
    return t;
  }

  get rank(): number { return this.shape.length; }

  /** The gradient buffer, created (zeroed) on first use. */
  gradBuffer(): Float32Array {
    if (!this.grad) this.grad = this.kind === 'param' || this.kind === 'const' ? new Float32Array(this.size) : allocZeros(this.size);
    return this.grad;
  }

  item(): number {
    if (this.size !== 1) throw new Error(`item: tensor of shape ${shapeStr(this.shape)} is not a scalar`);
    return this.data[0];
  }

  toArray(): number[] { return Array.from(this.data.subarray(0, this.size)); }

  /** Reverse-mode autodiff from this scalar; then every activation of the step is freed. */
  backward(): void { runBackward(this); }

  zeroGrad(): void { this.grad?.fill(0); }

  get isDisposed(): boolean { return this.disposed; }

  /** Whether this activation holds a buffer now (for memory accounting). */
  get resident(): boolean { return this.kind === 'activation' && !this.disposed && !this.dataReleased; }

  /** The tensor that owns this buffer: the base of a view, else itself. */
  get owner(): Tensor { return this.base ?? this; }

  /**
   * Returns the values' buffer to the pool but keeps the tensor (and its gradient) on the tape:
   * for activations that no backward reads. A no-op for parameters, constants and views.
   */
  releaseData(): void {
    if (this.kind !== 'activation' || this.dataReleased || this.disposed) return;
    this.dataReleased = true;
    release(this.buffer);
    this.buffer = EMPTY;
  }

  /** Returns pooled buffers; the tensor must not be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.kind === 'activation' && !this.dataReleased) release(this.buffer);
    if (this.grad && this.kind !== 'param' && this.kind !== 'const') release(this.grad);
    this.grad = null;
    this.buffer = EMPTY;
    this.recipe = null;
    this.stored = null;
  }

  toString(): string { return `Tensor${shapeStr(this.shape)}${this.name ? ' ' + this.name : ''}`; }
}

const EMPTY = new Float32Array(0);
