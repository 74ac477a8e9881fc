// What a training run leaves in --out when it ends: the final weights only when it finished (a
// stopped run keeps just its checkpoint, so `train && merge` never merges a half-trained model),
// plus its configuration and a summary that says whether and where it stopped.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeOutputDir } from '../util/output_dir.js';
import { TRAIN_OUTPUT } from '../formats/output_files.js';
import { STOP_SIGNALS, type TrainSummary } from './trainer.js';

/** "stopped at step 7 of 20 (SIGTERM)" or "finished 20 steps". */
export function runStatus(s: TrainSummary): string {
  return s.interrupted ? `stopped at step ${s.steps} of ${s.maxSteps}${s.signal ? ` (${s.signal})` : ''}` : `finished ${s.steps} steps`;
}

/** The exit code a run ends with: 0 when it finished, 128 + the signal's number when it was stopped. */
export function runExitCode(s: TrainSummary): number {
  return s.interrupted ? (s.signal ? STOP_SIGNALS[s.signal] : 130) : 0;
}

/**
 * Writes the run's result into out: saveWeights(dir) fills in the final model or adapter (skipped for
 * a stopped run), then train_config.json and summary.json. Files of the other method's weights from
 * an earlier run are removed only when new weights replace them.
 */
export function writeRunResult(out: string, summary: TrainSummary, record: { config: Record<string, unknown>; data: Record<string, unknown> },
  saveWeights: (dir: string) => void): void {
  const stopped = summary.interrupted;
  writeOutputDir(out, { ...TRAIN_OUTPUT, stale: stopped ? [] : TRAIN_OUTPUT.stale }, (dir) => {
    if (!stopped) saveWeights(dir);
    writeFileSync(join(dir, 'train_config.json'), JSON.stringify(record.config, null, 2) + '\n');
    writeFileSync(join(dir, 'summary.json'), JSON.stringify({ status: runStatus(summary), ...summary, data: record.data }, null, 2) + '\n');
  });
}
