// Words tagged by a token classifier grouped into entities as Hugging Face's token-classification
// pipeline does (group_entities): B-X starts a group, I-X continues one of type X, a name without a
// B-/I- prefix counts as I-<name>; groups of "O" are dropped; a group's score is its words' mean.

export interface TaggedWord { label: string; score: number }

export interface EntityGroup {
  /** The entity type: the label without its B-/I- prefix. */
  entity: string;
  /** Mean of the words' scores. */
  score: number;
  /** Word indexes [start, end). */
  start: number;
  end: number;
}

function splitTag(label: string): { bi: 'B' | 'I'; type: string } {
  if (label.startsWith('B-')) return { bi: 'B', type: label.slice(2) };
  if (label.startsWith('I-')) return { bi: 'I', type: label.slice(2) };
  return { bi: 'I', type: label };
}

export function groupEntities(words: readonly TaggedWord[], ignore: readonly string[] = ['O']): EntityGroup[] {
  const groups: EntityGroup[] = [];
  let cur: { type: string; start: number; sum: number } | null = null;
  const close = (end: number) => {
    if (cur && !ignore.includes(cur.type)) groups.push({ entity: cur.type, score: cur.sum / (end - cur.start), start: cur.start, end });
  };
  words.forEach((w, i) => {
    const { bi, type } = splitTag(w.label);
    if (cur && bi !== 'B' && type === cur.type) { cur.sum += w.score; return; }
    close(i);
    cur = { type, start: i, sum: w.score };
  });
  close(words.length);
  return groups;
}
