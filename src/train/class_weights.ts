// --class-weights for imbalanced data: explicit per-class weights, or scikit-learn's 'balanced'
// (n_samples / (n_classes * count)), the values HF users pass to CrossEntropyLoss(weight=).
import { UsageError } from '../util/errors.js';

/**
 * spec: 'balanced' or 'w0,w1,...' (one per class id); counts: training targets per class id (rows,
 * or labelled tokens for token classification). A class absent from the data gets weight 0 under
 * 'balanced' (it has no targets to weigh; sklearn refuses such a class).
 */
export function classWeights(spec: string, id2label: readonly string[], counts: readonly number[]): Float32Array {
  const k = id2label.length;
  if (spec === 'balanced') {
    const n = counts.reduce((s, c) => s + c, 0);
    const present = counts.filter((c) => c > 0).length;
    // sklearn's compute_class_weight divides by the classes present in y.
    return Float32Array.from(counts, (c) => (c > 0 ? n / (present * c) : 0));
  }
  const parts = spec.split(',').map((x) => x.trim());
  const w = parts.map(Number);
  const bad = parts.findIndex((p, i) => p === '' || !Number.isFinite(w[i]) || w[i] < 0);
  if (bad >= 0) throw new UsageError(`--class-weights: '${parts[bad]}' is not a non-negative number (give 'balanced' or one weight per class: ${id2label.join(',')})`);
  if (w.length !== k) throw new UsageError(`--class-weights: ${w.length} weights for ${k} classes (${id2label.join(', ')}, in id order)`);
  return Float32Array.from(w);
}

/** Targets per class id: class ids (-100 skipped), or multi-hot rows [B*k] summed per class. */
export function countPerClass(numLabels: number, ids: Iterable<number>): number[] {
  const counts = new Array<number>(numLabels).fill(0);
  for (const y of ids) if (y >= 0 && y < numLabels) counts[y]++;
  return counts;
}
