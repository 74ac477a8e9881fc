// Metrics for encoder heads, as pure functions of predictions and gold ids: accuracy, macro-F1,
// per-class precision/recall/F1 and the confusion matrix (scikit-learn's definitions, zero_division=0),
// entity-level F1 for BIO/IOB2 tags (seqeval's default mode), multi-label F1 at 0.5, MSE and Pearson.

export interface ClassMetrics { precision: number; recall: number; f1: number; support: number }

export interface ClassificationReport {
  accuracy: number;
  /** Mean F1 over the classes that occur in gold or predictions (sklearn's average='macro'). */
  macroF1: number;
  /** Per class id (0..numLabels-1); a class with no gold and no predictions has zeros. */
  perClass: ClassMetrics[];
  /** (numLabels, numLabels): confusion[gold][pred], sklearn's orientation. */
  confusion: number[][];
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
const f1Of = (p: number, r: number) => (p + r === 0 ? 0 : (2 * p * r) / (p + r));

export function confusionMatrix(pred: readonly number[], gold: readonly number[], numLabels: number): number[][] {
  if (pred.length !== gold.length) throw new Error(`confusionMatrix: ${pred.length} predictions for ${gold.length} gold labels`);
  const m = Array.from({ length: numLabels }, () => new Array<number>(numLabels).fill(0));
  pred.forEach((p, i) => {
    const g = gold[i];
    if (!(g >= 0 && g < numLabels && p >= 0 && p < numLabels)) throw new Error(`confusionMatrix: label out of range at ${i} (gold ${g}, predicted ${p}, ${numLabels} labels)`);
    m[g][p]++;
  });
  return m;
}

export function classificationReport(pred: readonly number[], gold: readonly number[], numLabels: number): ClassificationReport {
  const confusion = confusionMatrix(pred, gold, numLabels);
  let correct = 0;
  const perClass: ClassMetrics[] = [];
  const present: number[] = [];
  for (let c = 0; c < numLabels; c++) {
    const tp = confusion[c][c];
    correct += tp;
    const support = confusion[c].reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + row[c], 0);
    const precision = ratio(tp, predicted), recall = ratio(tp, support);
    perClass.push({ precision, recall, f1: f1Of(precision, recall), support });
    if (support > 0 || predicted > 0) present.push(c);
  }
  const macroF1 = ratio(present.reduce((a, c) => a + perClass[c].f1, 0), present.length);
  return { accuracy: ratio(correct, gold.length), macroF1, perClass, confusion };
}

// ---- entities (seqeval default mode) ----

export interface Entity { type: string; start: number; end: number }

function splitTag(t: string): [string, string] {
  const tag = t[0] ?? 'O';
  const rest = t.slice(1).split('-');
  const type = (rest.length > 1 ? rest.slice(1).join('-') : rest[0]) || '_';
  return [tag, type];
}

/** seqeval's get_entities: chunks of B/I(/E/S) tags; an I after O or of another type starts a chunk. end is inclusive. */
export function getEntities(tags: readonly string[]): Entity[] {
  const out: Entity[] = [];
  let prevTag = 'O', prevType = '', begin = 0;
  [...tags, 'O'].forEach((t, i) => {
    const [tag, type] = splitTag(t);
    const end = prevTag === 'E' || prevTag === 'S' || (prevTag === 'B' && (tag === 'B' || tag === 'S' || tag === 'O'))
      || (prevTag === 'I' && (tag === 'B' || tag === 'S' || tag === 'O')) || (prevTag !== 'O' && prevTag !== '.' && prevType !== type);
    if (end) out.push({ type: prevType, start: begin, end: i - 1 });
    const start = tag === 'B' || tag === 'S' || (prevTag === 'E' && (tag === 'E' || tag === 'I')) || (prevTag === 'S' && (tag === 'E' || tag === 'I'))
      || (prevTag === 'O' && (tag === 'E' || tag === 'I')) || (tag !== 'O' && tag !== '.' && prevType !== type);
    if (start) begin = i;
    prevTag = tag;
    prevType = type;
  });
  return out;
}

export interface EntityReport { precision: number; recall: number; f1: number; perType: Record<string, ClassMetrics> }

/** Micro precision/recall/F1 over exact entity matches (type and span), sentences joined as seqeval does. */
export function entityF1(pred: readonly (readonly string[])[], gold: readonly (readonly string[])[]): EntityReport {
  if (pred.length !== gold.length) throw new Error(`entityF1: ${pred.length} predicted sentences for ${gold.length} gold`);
  const join = (seqs: readonly (readonly string[])[]) => seqs.flatMap((s, i) => (i ? ['O', ...s] : [...s]));
  pred.forEach((p, i) => { if (p.length !== gold[i].length) throw new Error(`entityF1: sentence ${i} has ${p.length} predicted tags for ${gold[i].length} gold`); });
  const key = (e: Entity) => `${e.type}\u0000${e.start}\u0000${e.end}`;
  const P = getEntities(join(pred)), G = getEntities(join(gold));
  const goldSet = new Set(G.map(key));
  const types = new Set([...P, ...G].map((e) => e.type));
  const perType: Record<string, ClassMetrics> = {};
  for (const t of [...types].sort()) {
    const pt = P.filter((e) => e.type === t), gt = G.filter((e) => e.type === t);
    const tp = pt.filter((e) => goldSet.has(key(e))).length;
    const precision = ratio(tp, pt.length), recall = ratio(tp, gt.length);
    perType[t] = { precision, recall, f1: f1Of(precision, recall), support: gt.length };
  }
  const tp = P.filter((e) => goldSet.has(key(e))).length;
  const precision = ratio(tp, P.length), recall = ratio(tp, G.length);
  return { precision, recall, f1: f1Of(precision, recall), perType };
}

// ---- multi-label and regression ----

/** probs: (N, L) sigmoid outputs, gold: (N, L) multi-hot; a label is predicted at >= threshold. */
export function multiLabelF1(probs: readonly (readonly number[])[], gold: readonly (readonly number[])[], threshold = 0.5): { microF1: number; macroF1: number } {
  const L = gold[0]?.length ?? 0;
  const tp = new Array<number>(L).fill(0), fp = new Array<number>(L).fill(0), fn = new Array<number>(L).fill(0);
  probs.forEach((row, i) => {
    for (let l = 0; l < L; l++) {
      const p = row[l] >= threshold, g = gold[i][l] === 1;
      if (p && g) tp[l]++; else if (p) fp[l]++; else if (g) fn[l]++;
    }
  });
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  const microF1 = ratio(2 * sum(tp), 2 * sum(tp) + sum(fp) + sum(fn));
  // sklearn's macro over all L labels (multilabel indicator input), zero_division=0
  const macroF1 = ratio(tp.reduce((a, t, l) => a + ratio(2 * t, 2 * t + fp[l] + fn[l]), 0), L);
  return { microF1, macroF1 };
}

export function regressionMetrics(pred: readonly number[], gold: readonly number[]): { mse: number; pearson: number } {
  const n = gold.length;
  if (pred.length !== n) throw new Error(`regressionMetrics: ${pred.length} predictions for ${n} gold values`);
  let se = 0, mp = 0, mg = 0;
  for (let i = 0; i < n; i++) { se += (pred[i] - gold[i]) ** 2; mp += pred[i]; mg += gold[i]; }
  mp /= n; mg /= n;
  let cov = 0, vp = 0, vg = 0;
  for (let i = 0; i < n; i++) { cov += (pred[i] - mp) * (gold[i] - mg); vp += (pred[i] - mp) ** 2; vg += (gold[i] - mg) ** 2; }
  return { mse: ratio(se, n), pearson: vp === 0 || vg === 0 ? NaN : cov / Math.sqrt(vp * vg) };
}
