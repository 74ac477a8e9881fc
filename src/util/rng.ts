// A small seeded generator (mulberry32) whose whole state is one integer, so a checkpoint can
// save it and a resumed run continues the same stream.

export class Rng {
  constructor(public state: number) {
    this.state = state >>> 0;
  }
  /** Uniform in [0, 1). */
  uniform(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Standard normal (Box-Muller). */
  normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.uniform())) * Math.cos(2 * Math.PI * this.uniform());
  }
  /** An unsigned 32-bit integer. */
  u32(): number {
    return Math.floor(this.uniform() * 4294967296) >>> 0;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }
  /** Fills with N(mean, std^2); both values of each Box-Muller pair are used (init of 124M weights). */
  fillNormal(a: Float32Array, std: number, mean = 0): Float32Array {
    let i = 0;
    for (; i + 1 < a.length; i += 2) {
      const r = std * Math.sqrt(-2 * Math.log(1 - this.uniform())), t = 2 * Math.PI * this.uniform();
      a[i] = mean + r * Math.cos(t);
      a[i + 1] = mean + r * Math.sin(t);
    }
    if (i < a.length) a[i] = mean + std * this.normal();
    return a;
  }
  /** Fisher-Yates in place. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
}
