// LoRA around a Linear (PEFT's lora.Linear, shaped like mlx-lm's LoRALinear):
//   y = base(x) + lora_B(lora_A(dropout(x))) * scaling
// with the base frozen. lora_A [r, in] and lora_B [out, r] are plain torch.nn.Linear weights for
// both layouts; only merging transposes, for GPT-2's Conv1D ([in, out], PEFT's fan_in_fan_out).
import { backend } from '../backend/select.js';
import { dropoutHash } from '../backend/dropout_hash.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/layers.js';
import { Tensor } from '../tensor/tensor.js';
import { linear, type WeightLayout } from '../tensor/ops/linear.js';
import { loraLinear } from '../tensor/ops/lora_linear.js';
import { Rng } from '../util/rng.js';
import { f32ToBF16, f32ToF16 } from '../formats/dtype.js';
import { loraScaling } from './config.js';

/** One LoRA factor; a module of its own so its parameter is named `<module>.lora_A.weight` as in PEFT's files. */
export class LoraFactor extends Module {
  constructor(public weight: Tensor) {
    super();
  }
}

export interface LoraLinearOptions {
  r: number;
  alpha: number;
  dropout?: number;
  useRslora?: boolean;
  /** PEFT's init_lora_weights. */
  init?: boolean | 'gaussian';
  /** Draws the initial factors; a fixed seed gives the same adapter every run. */
  rng?: Rng;
  /** The seed of this call's dropout mask (the injector derives it from the forward's dropout seed). */
  dropoutSeed?: () => number;
}

export class LoraLinear extends Module {
  /** The base layer's tensors, shared (not copied) and frozen; names stay the checkpoint's. */
  weight: Tensor;
  bias: Tensor | null;
  lora_A: LoraFactor; // weight (r, in)
  lora_B: LoraFactor; // weight (out, r)
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly layout: WeightLayout;
  readonly r: number;
  readonly loraAlpha: number;
  readonly loraDropout: number;
  readonly scaling: number;
  /** True while the delta is folded into weight (forward then skips the LoRA path). */
  merged = false;
  dropoutSeed: () => number;

  constructor(base: Linear, opts: LoraLinearOptions) {
    super();
    const { r, alpha, dropout: p = 0, useRslora = false, init = true, rng = new Rng(0) } = opts;
    if (!Number.isInteger(r) || r <= 0) throw new RangeError(`LoraLinear: r must be a positive integer, got ${r}`);
    if (!(p >= 0 && p < 1)) throw new RangeError(`LoraLinear: dropout must be in [0, 1), got ${p}`);
    this.weight = base.weight;
    this.bias = base.bias;
    this.inFeatures = base.inFeatures;
    this.outFeatures = base.outFeatures;
    this.layout = base.layout;
    this.r = r;
    this.loraAlpha = alpha;
    this.loraDropout = p;
    this.scaling = loraScaling(alpha, r, useRslora);
    this.dropoutSeed = opts.dropoutSeed ?? (() => 0);
    this.training = base.training;
    this.weight.requiresGrad = false;
    this.weight.grad = null;
    if (this.bias) { this.bias.requiresGrad = false; this.bias.grad = null; }

    // PEFT's reset_lora_parameters. kaiming_uniform_(a = sqrt(5)) on [r, in] is U(-1/sqrt(in), 1/sqrt(in)).
    const a = new Float32Array(r * this.inFeatures);  // (r, in)
    const b = new Float32Array(this.outFeatures * r); // (out, r)
    if (init === 'gaussian') {
      rng.fillNormal(a, 1 / r);
    } else {
      uniform(rng, a, 1 / Math.sqrt(this.inFeatures));
      // init false keeps torch's nn.Linear default for B as well (fan_in = r): a non-identity start.
      if (init === false) uniform(rng, b, 1 / Math.sqrt(r));
    }
    this.lora_A = new LoraFactor(Tensor.param(a, [r, this.inFeatures]));
    this.lora_B = new LoraFactor(Tensor.param(b, [this.outFeatures, r]));
  }

  /** x [..., in] -> [..., out]. */
  forward(x: Tensor): Tensor {
    if (this.merged) return linear(x, this.weight, this.bias, this.layout);
    const p = this.training ? this.loraDropout : 0;
    return loraLinear(x, this.weight, this.bias, this.layout, {
      a: this.lora_A.weight, b: this.lora_B.weight, scaling: this.scaling, p, seed: p > 0 ? this.dropoutSeed() >>> 0 : 0,
    });
  }

  /** (B @ A) * scaling in the base weight's layout: [out, in] for 'out_in', [in, out] for 'in_out'. */
  deltaWeight(): Float32Array {
    const { r, inFeatures: inF, outFeatures: outF } = this;
    const A = this.lora_A.weight.data, B = this.lora_B.weight.data;
    const delta = new Float32Array(inF * outF);
    // 'in_out' wants (B A)^T = A^T B^T [in, out] (PEFT: transpose(B @ A, fan_in_fan_out)).
    if (this.layout === 'out_in') backend().gemm(delta, B, A, outF, inF, r, false, false, false);
    else backend().gemm(delta, A, B, inF, outF, r, true, true, false);
    const s = Math.fround(this.scaling);
    for (let i = 0; i < delta.length; i++) delta[i] *= s;
    return delta;
  }

  /**
   * Folds the delta into the base weight in float32 (W += delta). Like PEFT's safe_merge, refuses
   * (and leaves W untouched) when the result would hold NaN or Inf. Merging twice is a no-op.
   * A base kept in bf16/f16 is widened, added to, and rounded back to its dtype (as PEFT on a bf16 base).
   */
  merge(): void {
    if (this.merged) return;
    const W = this.weight.toFloat32(), delta = this.deltaWeight();
    for (let i = 0; i < W.length; i++) {
      if (!Number.isFinite(Math.fround(W[i] + delta[i]))) {
        throw new Error(`LoraLinear.merge: NaNs or Infs in the merged weight (element ${i}: ${W[i]} + ${delta[i]}); the adapter seems to be broken`);
      }
    }
    for (let i = 0; i < W.length; i++) W[i] += delta[i];
    storeBack(this.weight, W);
    this.merged = true;
  }

  /** Subtracts the delta again (exact up to float32 rounding, or the 16-bit dtype's, as in PEFT). */
  unmerge(): void {
    if (!this.merged) return;
    const W = this.weight.toFloat32(), delta = this.deltaWeight();
    for (let i = 0; i < W.length; i++) W[i] -= delta[i];
    storeBack(this.weight, W);
    this.merged = false;
  }

  /** The LoRA parameters (what an optimizer should see). */
  loraParameters(): Tensor[] {
    return [this.lora_A.weight, this.lora_B.weight];
  }
}

function uniform(rng: Rng, a: Float32Array, bound: number): void {
  for (let i = 0; i < a.length; i++) a[i] = (2 * rng.uniform() - 1) * bound;
}

/**
 * The dropout seed of adapted module `index` for one forward: a hash of the forward's dropout seed
 * (ForwardOptions.dropoutSeed), distinct from the seeds the model uses for its own dropout.
 */
export function loraDropoutSeed(modelSeed: number, index: number): number {
  return dropoutHash(dropoutHash(modelSeed >>> 0, 0x4c6f5241 /* 'LoRA' */), index);
}

/**
 * Writes f32 values W into a weight: as they are, rounded (nearest even) to its 16-bit dtype, or
 * quantized again in its blocks (as PEFT merges into a bitsandbytes base: dequantize, add, requantize).
 */
function storeBack(weight: Tensor, W: Float32Array, dtype = weight.storedDtype): void {
  if (dtype === 'F32') {
    if (weight.storedDtype === 'F32' && weight.data !== W) weight.data.set(W);
    return;
  }
  if (dtype === 'Q8_0' || dtype === 'Q4_0' || dtype === 'NF4') {
    weight.quantizeFrom(W, dtype);
    return;
  }
  weight.storeHalf({ dtype, bits: dtype === 'BF16' ? f32ToBF16(W) : f32ToF16(W) });
}
