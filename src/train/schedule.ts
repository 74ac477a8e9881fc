// Learning-rate schedules as Hugging Face's get_*_schedule_with_warmup: the multiplier for the
// optimizer step with 0-based index `step` (so with warmup the very first step runs at lr 0, as in HF).

export type ScheduleName = 'linear' | 'cosine' | 'constant';
export const SCHEDULES: readonly ScheduleName[] = ['linear', 'cosine', 'constant'];

export function lrMultiplier(schedule: ScheduleName, step: number, warmupSteps: number, totalSteps: number): number {
  if (step < warmupSteps) return step / Math.max(1, warmupSteps);
  if (schedule === 'constant') return 1;
  const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
  if (schedule === 'linear') return Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}
