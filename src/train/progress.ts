// What a user sees while training: a progress bar on a terminal (cli-progress), plain log lines otherwise.
import cliProgress from 'cli-progress';

export interface StepReport { step: number; loss: number; lr: number; tokensPerSec: number; elapsedS: number; evalLoss?: number }

export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  constructor(private total: number, private enabled = true, private tty = Boolean(process.stderr.isTTY)) {}

  start(from: number): void {
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
    } else {
      const ev = r.evalLoss !== undefined ? ` eval_loss ${r.evalLoss.toFixed(4)}` : '';
      process.stdout.write(`step ${r.step}/${this.total} loss ${r.loss.toFixed(4)} lr ${r.lr.toExponential(3)} ${Math.round(r.tokensPerSec)} tok/s ${r.elapsedS.toFixed(1)}s${ev}\n`);
    }
  }

  /** A line that must not be overwritten by the bar (eval results, checkpoints). */
  log(line: string): void {
    if (!this.enabled) return;
    if (this.bar) this.bar.stop();
    process.stdout.write(line + '\n');
    if (this.bar) this.bar.start(this.total, this.bar.getProgress() * this.total);
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
