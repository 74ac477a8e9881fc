// What a user sees while training: a progress bar on a terminal (cli-progress), plain log lines otherwise.
import cliProgress from 'cli-progress';

export interface StepReport { step: number; loss: number; lr: number; tokensPerSec: number; elapsedS: number; evalLoss?: number }

export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  constructor(private total: number, private enabled = true, private tty = Boolean(process.stderr.isTTY)) {}

  private from = 0;

  /** Time left at the pace since start (m:ss or h:mm:ss). */
  private eta(r: StepReport): string {
    const done = r.step - this.from, left = this.total - r.step;
    if (done <= 0 || this.t0 === null) return '-';
    const s = Math.round(((performance.now() - this.t0) / 1000 / done) * left);
    const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0'), ss = String(s % 60).padStart(2, '0');
    return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${Math.floor(s / 60)}:${ss}`;
  }
  private t0: number | null = null;

  start(from: number): void {
    this.from = from;
    this.t0 = performance.now();
    if (!this.enabled || !this.tty) return;
    this.bar = new cliProgress.SingleBar({
      format: 'train |{bar}| {value}/{total} | loss {loss} | lr {lr} | {tps} tok/s | ETA {eta_formatted}',
      hideCursor: true, etaBuffer: 20, stream: process.stderr,
    }, cliProgress.Presets.shades_classic);
    this.bar.start(this.total, from, { loss: '-', lr: '-', tps: '-' });
  }

  update(r: StepReport): void {
    if (!this.enabled) return;
    if (this.bar) {
      this.bar.update(r.step, { loss: r.loss.toFixed(4), lr: r.lr.toExponential(2), tps: Math.round(r.tokensPerSec) });
    } else if (r.step % Math.max(1, Math.round(this.total / 50)) === 0 || r.step === this.total || r.evalLoss !== undefined) {
      // Line mode (logs, CI): about 50 lines a run, each with the time left.
      const ev = r.evalLoss !== undefined ? ` eval_loss ${r.evalLoss.toFixed(4)}` : '';
      process.stdout.write(`step ${r.step}/${this.total} loss ${r.loss.toFixed(4)} lr ${r.lr.toExponential(3)} ${Math.round(r.tokensPerSec)} tok/s ${r.elapsedS.toFixed(1)}s ETA ${this.eta(r)}${ev}\n`);
    }
  }

  /** A line that must not be overwritten by the bar (eval results, checkpoints). */
  log(line: string): void {
    if (!this.enabled) return;
    if (this.bar) this.bar.stop();
    process.stdout.write(line + '\n');
    if (this.bar) this.bar.start(this.total, this.bar.getProgress() * this.total);
  }

  /** A line printed above the bar (a terminal); line mode already shows it in its step line. */
  logAboveBar(line: string): void {
    if (this.bar) this.log(line);
  }

  /** A line that always shows, on stderr, even with progress off (checkpoints saved, resume points). */
  notice(line: string): void {
    if (this.bar) this.bar.stop();
    process.stderr.write(line + '\n');
    if (this.bar) this.bar.start(this.total, this.bar.getProgress() * this.total);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
