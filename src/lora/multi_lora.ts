// Many LoRA adapters over one copy of the base weights, for serving: each adapted Linear keeps every
// adapter's factors, and a batched forward applies to each row the delta of that row's adapter
// (or none), so requests for different fine-tunes share one decode batch. Inference only.
import { backend } from '../backend/select.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/layers.js';
import { Tensor } from '../tensor/tensor.js';
import { linear, type WeightLayout } from '../tensor/ops/linear.js';
import { peftKey } from '../formats/peft_adapter.js';
import { GptuneError } from '../util/errors.js';
import { loraScaling } from './config.js';
import { moduleSlots } from './inject.js';
import { readAdapter } from './adapter.js';

/** One adapter's factors for one module. */
interface Factors {
  a: Float32Array; // (r, in)
  b: Float32Array; // (out, r)
  r: number;
  scaling: number;
}

/** The adapter of each batch row for the forward now running (-1: the base model). */
interface Route {
  rows: Int32Array;
}

export class MultiLoraLinear extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly layout: WeightLayout;
  /** adapter index -> factors (adapters that do not adapt this module are absent). */
  readonly factors = new Map<number, Factors>();

  constructor(base: Linear, private readonly route: { current: Route | null }) {
    super();
    this.weight = base.weight;
    this.bias = base.bias;
    this.inFeatures = base.inFeatures;
    this.outFeatures = base.outFeatures;
    this.layout = base.layout;
  }

  /** x [B, T, in] -> [B, T, out]: the base output plus, per row, its adapter's scaled delta. */
  forward(x: Tensor): Tensor {
    const out = linear(x, this.weight, this.bias, this.layout);
    const route = this.route.current;
    if (!route || this.factors.size === 0) return out;
    const inF = this.inFeatures, outF = this.outFeatures;
    const rows = x.size / inF;
    const perRow = rows / route.rows.length; // tokens of each batch row
    if (!Number.isInteger(perRow)) throw new GptuneError(`MultiLoraLinear: ${rows} rows do not split over ${route.rows.length} routed batch rows`);
    const B = backend();
    // Runs of consecutive rows with the same adapter: one low-rank GEMM pair each.
    for (let start = 0; start < route.rows.length;) {
      const id = route.rows[start];
      let end = start + 1;
      while (end < route.rows.length && route.rows[end] === id) end++;
      const f = this.factors.get(id);
      if (f) {
        const n = (end - start) * perRow;
        const xs = x.data.subarray(start * perRow * inF, start * perRow * inF + n * inF);
        const ys = out.data.subarray(start * perRow * outF, start * perRow * outF + n * outF);
        const low = new Float32Array(n * f.r); // scaling * x A^T, as loraLinear computes it
        B.gemm(low, xs, f.a, n, f.r, inF, false, true, false);
        B.scale(low, low, Math.fround(f.scaling), n * f.r);
        B.gemm(ys, low, f.b, n, outF, f.r, false, true, true);
      }
      start = end;
    }
    return out;
  }
}

export interface AdapterSource {
  name: string;
  dir: string;
}

/**
 * The adapters a server keeps loaded over one base model. `load` reads and checks every adapter
 * against the plain base first, then swaps each adapted Linear for a MultiLoraLinear.
 */
export class AdapterSet {
  readonly names: string[];
  private readonly route: { current: Route | null } = { current: null };

  private constructor(names: string[]) {
    this.names = names;
  }

  static load(model: Module, sources: readonly AdapterSource[]): AdapterSet {
    const seen = new Set<string>();
    for (const s of sources) {
      if (seen.has(s.name)) throw new GptuneError(`adapter name '${s.name}' is given twice`);
      seen.add(s.name);
    }
    const read = sources.map((s) => readAdapter(model, s.dir));
    const set = new AdapterSet(sources.map((s) => s.name));
    if (sources.length === 0) return set;
    const slots = new Map(moduleSlots(model).map((s) => [s.name, s]));
    const wrappers = new Map<string, MultiLoraLinear>();
    read.forEach(({ plan, factors }, index) => {
      for (const e of plan.entries) {
        let w = wrappers.get(e.name);
        if (!w) {
          const slot = slots.get(e.name)!;
          w = new MultiLoraLinear(slot.module as Linear, set.route);
          (slot.parent as unknown as Record<string | number, unknown>)[slot.key] = w;
          wrappers.set(e.name, w);
        }
        w.factors.set(index, {
          a: factors.get(peftKey(e.name, 'lora_A'))!, b: factors.get(peftKey(e.name, 'lora_B'))!,
          r: e.r, scaling: loraScaling(e.alpha, e.r, plan.config.use_rslora),
        });
      }
    });
    return set;
  }

  /** Index of an adapter by name (-1 for none). */
  indexOf(name: string): number {
    return this.names.indexOf(name);
  }

  /** Runs fn (a batched forward) with row b using adapter rows[b] (-1: the base model). */
  run<T>(rows: Int32Array, fn: () => T): T {
    if (this.route.current) throw new Error('AdapterSet.run: a forward is already routed (not reentrant)');
    this.route.current = { rows };
    try {
      return fn();
    } finally {
      this.route.current = null;
    }
  }
}
