// Gradient buckets for data-parallel training (PyTorch DDP's Reducer): parameters are grouped, in
// reverse order, into buckets of about 25 MB, and each bucket's MPI_Iallreduce starts as soon as
// backward has finished every gradient in it, so the sums travel while earlier layers still compute.
import type { Tensor } from '../tensor/tensor.js';
import type { GradReadyHook } from '../tensor/tape.js';
import type { Distributed } from './distributed.js';

/** PyTorch DDP's bucket_cap_mb. */
export const DEFAULT_BUCKET_MB = 25;

interface Bucket {
  params: Tensor[];
  /** (sum of the params' sizes + one has-grad flag per param,): a param no rank has a gradient for keeps none. */
  buf: Float32Array;
  /** Params whose gradient is not final yet in this backward. */
  waiting: number;
  request: number | null;
}

/** What the reducer did, for logs and the bench: bytes sent into allreduce and milliseconds blocked waiting. */
export interface ReduceStats {
  steps: number;
  bytesPerStep: number;
  waitMs: number;
}

export class GradBuckets implements GradReadyHook {
  readonly buckets: Bucket[] = [];
  private readonly bucketOf = new Map<Tensor, Bucket>();
  /** Buckets start strictly in index order: every rank must issue its collectives in the same order. */
  private next = 0;
  private inFlight = 0;
  readonly stats: ReduceStats = { steps: 0, bytesPerStep: 0, waitMs: 0 };

  /** A bucket closes once it holds at least bucketMb megabytes (0: one bucket per parameter). */
  constructor(private readonly dist: Distributed, params: readonly Tensor[], bucketMb = DEFAULT_BUCKET_MB) {
    const cap = bucketMb * 1024 * 1024;
    let group: Tensor[] = [], bytes = 0;
    const close = () => {
      const n = group.reduce((s, p) => s + p.size, 0) + group.length;
      const b: Bucket = { params: group, buf: new Float32Array(n), waiting: group.length, request: null };
      for (const p of group) this.bucketOf.set(p, b);
      this.buckets.push(b);
      this.stats.bytesPerStep += n * 4;
      group = [];
      bytes = 0;
    };
    // Reverse parameter order is roughly the order backward finishes them (the last layer first).
    for (const p of [...params].reverse()) {
      group.push(p);
      bytes += p.size * 4;
      if (bytes >= cap) close();
    }
    if (group.length) close();
  }

  ready(param: Tensor): void {
    const b = this.bucketOf.get(param);
    if (!b) return;
    b.waiting--;
    while (this.next < this.buckets.length && this.buckets[this.next].waiting === 0) this.start(this.buckets[this.next++]);
  }

  afterOp(): void {
    if (this.inFlight > 0) this.dist.progress();
  }

  private start(b: Bucket): void {
    const { buf, params } = b;
    const flags = buf.length - params.length;
    let o = 0;
    params.forEach((p, i) => {
      if (p.grad) buf.set(p.grad, o); else buf.fill(0, o, o + p.size);
      buf[flags + i] = p.grad ? 1 : 0;
      o += p.size;
    });
    b.request = this.dist.iallreduceSum(buf);
    this.inFlight++;
  }

  /**
   * Ends the step's reduction: starts the buckets backward did not (all of them on a rank that had no
   * rows to train), sums `extra` numbers too, waits, and writes the summed gradients back. Returns the summed extras.
   */
  finish(extra: number[]): number[] {
    while (this.next < this.buckets.length) this.start(this.buckets[this.next++]);
    const extras = Float32Array.from(extra);
    const extraRequest = this.dist.iallreduceSum(extras);
    const t0 = performance.now();
    for (const b of this.buckets) {
      this.dist.wait(b.request!);
      const { buf, params } = b;
      const flags = buf.length - params.length;
      let o = 0;
      params.forEach((p, i) => {
        if (buf[flags + i] > 0) p.gradBuffer().set(buf.subarray(o, o + p.size));
        o += p.size;
      });
      b.request = null;
      b.waiting = params.length;
    }
    this.dist.wait(extraRequest);
    this.stats.waitMs += performance.now() - t0;
    this.stats.steps++;
    this.next = 0;
    this.inFlight = 0;
    return Array.from(extras);
  }
}
