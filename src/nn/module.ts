// Module: a tree of named parameters. Property names are the checkpoint's names (GPT-2's
// `transformer.h.0.attn.c_attn.weight` is this.transformer.h[0].attn.c_attn.weight).
import { Tensor } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';

export abstract class Module {
  training = true;

  /** Parameters in declaration order; a tensor reachable twice (tied weights) is listed once. */
  namedParameters(): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [];
    const seen = new Set<Tensor>();
    const walk = (m: Module, prefix: string) => {
      for (const [key, value] of Object.entries(m)) {
        if (value instanceof Tensor) {
          if (value.kind === 'param' && !seen.has(value)) {
            seen.add(value);
            out.push([prefix + key, value]);
          }
        } else if (value instanceof Module) {
          walk(value, `${prefix}${key}.`);
        } else if (Array.isArray(value)) {
          value.forEach((v, i) => { if (v instanceof Module) walk(v, `${prefix}${key}.${i}.`); });
        }
      }
    };
    walk(this, '');
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Every submodule with its dotted name ('' for this one), depth first. */
  namedModules(): Array<[string, Module]> {
    const out: Array<[string, Module]> = [];
    const walk = (m: Module, name: string) => {
      out.push([name, m]);
      const prefix = name ? name + '.' : '';
      for (const [key, value] of Object.entries(m)) {
        if (value instanceof Module) walk(value, prefix + key);
        else if (Array.isArray(value)) value.forEach((v, i) => { if (v instanceof Module) walk(v, `${prefix}${key}.${i}`); });
      }
    };
    walk(this, '');
    return out;
  }

  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  numParameters(trainableOnly = false): number {
    return this.parameters().filter((p) => !trainableOnly || p.requiresGrad).reduce((s, p) => s + p.size, 0);
  }

  /**
   * Copies tensors into the parameters by name. Every parameter must be present with its exact
   * shape; names the parameter that is missing or mismatched.
   */
  loadTensors(get: (name: string) => { data: Float32Array; shape: readonly number[] } | undefined, source = 'checkpoint'): void {
    for (const [name, p] of this.namedParameters()) {
      const t = get(name);
      if (!t) throw new Error(`${source}: missing tensor '${name}' (expected shape ${shapeStr(p.shape)})`);
      if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
        throw new Error(`${source}: tensor '${name}' has shape ${shapeStr(t.shape)}, expected ${shapeStr(p.shape)}`);
      }
      p.data.set(t.data);
    }
  }
}
