// The activation pool's policy: varying lengths share size classes, and idle memory stays within
// the high-water mark of bytes in use plus a small slack, however many distinct lengths were seen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IDLE_SLACK_BYTES, allocUninit, allocZeros, classLength, clearPool, poolStats, release, sizeClass } from '../../src/tensor/pool.js';

test('size classes: at least n floats, at most 25% more, four per octave', () => {
  for (let n = 64; n < 1 << 22; n = Math.ceil(n * 1.07) + 1) {
    const len = classLength(sizeClass(n));
    assert.ok(len >= n && len <= 1.25 * n, `n ${n}: class length ${len}`);
  }
  assert.equal(sizeClass(1 << 20) - sizeClass(1 << 19), 4);
  assert.equal(classLength(sizeClass(1 << 20)), 1 << 20, 'a power of two is its own class');
});

test('nearby lengths reuse one buffer; the array handed out has exactly the length asked for', () => {
  clearPool();
  const a = allocUninit(100_000);
  assert.equal(a.length, 100_000);
  const buffer = a.buffer;
  release(a);
  const b = allocZeros(101_000);
  assert.equal(b.length, 101_000);
  assert.equal(b.buffer, buffer, 'a length in the same class reuses the idle buffer');
  assert.ok(b.every((v) => v === 0), 'allocZeros clears a reused buffer');
  release(b);
});

test('release refuses views and a second release of the same array', () => {
  clearPool();
  const a = allocUninit(1000);
  assert.throws(() => release(a.subarray(0, 10)), /not a buffer the pool handed out/);
  release(a);
  assert.throws(() => release(a), /released twice/);
});

test('idle bytes stay within the in-use high-water mark plus the slack over many distinct lengths', () => {
  clearPool();
  let largest = 0;
  // 60 lengths from 1 MB to ~6 MB, each allocated and released in turn: ~160 MB in all.
  for (let i = 0; i < 60; i++) {
    const n = Math.round((1 << 18) * 1.03 ** i);
    largest = Math.max(largest, n * 4);
    const pair = [allocUninit(n), allocUninit(n)];
    for (const buf of pair) release(buf);
    const s = poolStats();
    assert.ok(s.idleBytes + s.inUseBytes <= s.peakInUseBytes + IDLE_SLACK_BYTES,
      `after length ${n}: idle ${s.idleBytes} + in use ${s.inUseBytes} > peak ${s.peakInUseBytes} + slack`);
  }
  const s = poolStats();
  assert.ok(s.peakInUseBytes <= 2 * largest * 1.25, `peak in use ${s.peakInUseBytes}`);
  assert.ok(s.idleBytes <= 2 * largest * 1.25 + IDLE_SLACK_BYTES, `idle ${s.idleBytes} bytes`);
  clearPool();
  assert.equal(poolStats().idleBytes, 0);
});
