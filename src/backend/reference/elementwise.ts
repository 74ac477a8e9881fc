// Reference elementwise kernels and reductions.
import type { F32 } from '../backend.js';

export function add(out: F32, a: F32, b: F32, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
}
export function mul(out: F32, a: F32, b: F32, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i] * b[i];
}
export function scale(out: F32, a: F32, s: number, n: number): void {
  for (let i = 0; i < n; i++) out[i] = s * a[i];
}
export function axpy(y: F32, alpha: number, x: F32, n: number): void {
  for (let i = 0; i < n; i++) y[i] += alpha * x[i];
}
export function addMul(y: F32, alpha: number, a: F32, b: F32, n: number): void {
  for (let i = 0; i < n; i++) y[i] += alpha * a[i] * b[i];
}
// Reductions accumulate in double (JS numbers), as the native ones do.
export function sum(x: F32, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i];
  return s;
}
export function sumSquares(x: F32, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i] * x[i];
  return s;
}
