// Packing several short examples into one row of seqLen saves the compute that padding wastes;
// segments keep their attention apart and positions restart, so each example sees what it would alone.

/** Rows of a packing: row r holds order[rowStart[r] .. rowStart[r+1]) (indices into the input list). */
export interface Packing {
  order: Int32Array;      // (n,) example indices, row by row
  rowStart: Int32Array;   // (rows+1,)
}

/**
 * Greedy first-fit: each example, in the given order, goes into the first row that still has room
 * for it, else opens a new row. O(n log n) with a max-tree over the rows' free space.
 */
export function firstFitPack(lengths: ArrayLike<number>, capacity: number): Packing {
  const n = lengths.length;
  let size = 1;
  while (size < Math.max(1, n)) size *= 2;
  const free = new Float64Array(2 * size).fill(capacity); // max-tree: leaves [size, 2*size) are rows' free space
  const rowOf = new Int32Array(n);
  let rows = 0;
  for (let i = 0; i < n; i++) {
    const len = lengths[i];
    if (!(len >= 1 && len <= capacity)) throw new RangeError(`firstFitPack: example ${i} has ${len} tokens; rows hold 1..${capacity}`);
    let node = 1; // descend to the leftmost row with free >= len (unopened rows are all free)
    while (node < size) node = free[2 * node] >= len ? 2 * node : 2 * node + 1;
    const row = node - size;
    rowOf[i] = row;
    if (row + 1 > rows) rows = row + 1;
    free[node] -= len;
    for (node >>= 1; node >= 1; node >>= 1) free[node] = Math.max(free[2 * node], free[2 * node + 1]);
  }
  // Counting sort by row, stable: examples keep their order inside a row.
  const rowStart = new Int32Array(rows + 1);
  for (let i = 0; i < n; i++) rowStart[rowOf[i] + 1]++;
  for (let r = 0; r < rows; r++) rowStart[r + 1] += rowStart[r];
  const fill = rowStart.slice(0, rows);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[fill[rowOf[i]]++] = i;
  return { order, rowStart };
}
