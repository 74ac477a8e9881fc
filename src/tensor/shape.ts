// Shape arithmetic and the errors that name the op and the shapes at fault.

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

import { shapeStr } from '../util/errors.js';

export { shapeStr };

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export class ShapeError extends Error {
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.name = 'ShapeError';
  }
}

/** Throws a ShapeError unless shape is a valid list of non-negative integers. */
export function checkShape(op: string, shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(op, `invalid shape ${shapeStr(shape)}`);
  }
}

/** Resolves one -1 entry in a reshape target. */
export function inferShape(op: string, from: Shape, to: Shape): number[] {
  const n = sizeOf(from);
  const out = [...to];
  const unknown = out.indexOf(-1);
  if (unknown >= 0) {
    const rest = sizeOf(out.filter((_, i) => i !== unknown));
    if (rest === 0 || n % rest !== 0) throw new ShapeError(op, `cannot reshape ${shapeStr(from)} to ${shapeStr(to)}`);
    out[unknown] = n / rest;
  }
  checkShape(op, out);
  if (sizeOf(out) !== n) throw new ShapeError(op, `cannot reshape ${shapeStr(from)} (${n} elements) to ${shapeStr(to)}`);
  return out;
}

/** Normalises a possibly negative axis. */
export function axisOf(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new ShapeError(op, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}
