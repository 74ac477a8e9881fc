// Tensor: a float32 buffer with a shape, an optional gradient, and its place on the autograd tape.
// Three kinds: parameters (persistent leaves), activations (pooled; freed when their step's
// backward finishes) and views (share an activation's buffer, e.g. reshape).
import { allocUninit, allocZeros, release } from './pool.js';
import { type Shape, checkShape, shapeStr, sizeOf } from './shape.js';
import { backward as runBackward, track } from './tape.js';

export type TensorKind = 'param' | 'activation' | 'view' | 'const';

export class Tensor {
  readonly shape: Shape;
  readonly size: number;
  data: Float32Array;
  grad: Float32Array | null = null;
  requiresGrad = false;
  readonly kind: TensorKind;
  /** A name for error messages (parameters carry their checkpoint name). */
  name = '';
  private disposed = false;

  private constructor(data: Float32Array, shape: Shape, kind: TensorKind) {
    this.shape = shape;
    this.size = sizeOf(shape);
    this.data = data;
    this.kind = kind;
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
    const t = new Tensor(this.data, shape, 'view');
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

  /** Returns pooled buffers; the tensor must not be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.kind === 'activation') release(this.data);
    if (this.grad && this.kind !== 'param' && this.kind !== 'const') release(this.grad);
    this.grad = null;
    this.data = EMPTY;
  }

  toString(): string { return `Tensor${shapeStr(this.shape)}${this.name ? ' ' + this.name : ''}`; }
}

const EMPTY = new Float32Array(0);
