// NaN or infinite numbers out of a model are reported as such, naming the first weight that holds
// one, instead of surfacing as an empty answer or "loss NaN".
import { GptuneError } from '../util/errors.js';
import type { Module } from '../nn/module.js';

/** True when every value is finite. */
export function allFinite(x: ArrayLike<number>): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return false;
  return true;
}

/** The error for non-finite output of `what` (logits, loss): names the first parameter with NaN/inf, if any. */
export function nonFiniteError(model: Module, what: string): GptuneError {
  for (const [name, p] of model.namedParameters()) {
    const d = p.toFloat32(); // weights kept in bf16/f16 widened (this runs only on the error path)
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i])) {
        return new GptuneError(`the model's ${what} are not finite: weight '${name}' holds ${d[i]} at index ${i} (a diverged or damaged checkpoint)`);
      }
    }
  }
  return new GptuneError(`the model's ${what} are not finite (NaN or infinity), though its weights are: the activations overflow`);
}
