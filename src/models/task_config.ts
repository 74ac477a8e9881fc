// The task-head fields every Hugging Face config shares: id2label / label2id / num_labels / problem_type,
// read once here for encoders and decoders, and written back on save with the base config's keys kept.
import { ModelConfig } from '../formats/hf_config.js';
import type { ProblemType } from './task_model.js';

export const PROBLEM_TYPES: readonly ProblemType[] = ['single_label_classification', 'multi_label_classification', 'regression'];

export interface TaskLabels {
  /** Label names by class id; HF's default is LABEL_0, LABEL_1 (num_labels 2). */
  id2label: string[];
  /** null: decided from the labels' type at loss time, as HF does. */
  problemType: ProblemType | null;
}

/** id2label (keys "0".."n-1"), else num_labels (default 2), as PretrainedConfig reads them. */
export function readTaskLabels(c: ModelConfig): TaskLabels {
  const raw = c.raw.id2label;
  let id2label: string[];
  if (raw != null) {
    if (typeof raw !== 'object' || Array.isArray(raw)) c.refuse('id2label', 'must be an object {"0": "name", ...}');
    const entries = Object.entries(raw as Record<string, unknown>);
    id2label = new Array(entries.length);
    for (const [k, v] of entries) {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0 || i >= entries.length || typeof v !== 'string') {
        c.refuse('id2label', `entry "${k}": ${JSON.stringify(v)} is not a class id 0..${entries.length - 1} with a name`);
      }
      id2label[i] = v;
    }
    const n = c.optInt('num_labels');
    if (n !== undefined && n !== id2label.length) c.refuse('num_labels', `${n} does not match id2label's ${id2label.length} labels`);
  } else {
    const n = c.int('num_labels', 2);
    if (n < 1) c.refuse('num_labels', 'must be at least 1');
    id2label = Array.from({ length: n }, (_, i) => `LABEL_${i}`);
  }
  const pt = c.optString('problem_type');
  if (pt !== undefined && !PROBLEM_TYPES.includes(pt as ProblemType)) c.refuse('problem_type', `must be one of ${PROBLEM_TYPES.join(', ')}`);
  return { id2label, problemType: (pt as ProblemType | undefined) ?? null };
}

/** config.json for a model with a head: the base config's keys, plus architectures, id2label/label2id, problem_type. */
export function taskConfigToSave(base: Record<string, unknown>, architecture: string, labels: TaskLabels | null): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base, architectures: [architecture] };
  if (labels) {
    out.id2label = Object.fromEntries(labels.id2label.map((n, i) => [String(i), n]));
    out.label2id = Object.fromEntries(labels.id2label.map((n, i) => [n, i]));
    delete out.num_labels; // HF writes id2label, from which num_labels follows
    if (labels.problemType) out.problem_type = labels.problemType;
  }
  return out;
}
