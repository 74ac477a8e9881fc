// Training's public surface (`gptune/train`): the loop, its losses, optimizer and schedules.
export { train, evaluateLoss, causalLMBatchLoss, readMetrics, METRICS_FILE, type BatchLoss, type StepForward, type TrainOptions, type TrainHooks, type TrainSummary, type TrainBatch, type BatchSource, type StepMetrics } from './trainer.js';
export { AdamW } from './optim/adamw.js';
export { clipGradNorm } from './optim/clip.js';
export { causalLMLoss, causalLMModelLoss, shiftLabels } from './losses.js';
export { lrMultiplier, SCHEDULES, type ScheduleName } from './schedule.js';
export { fullFineTuneHooks, saveFullWeights, loadFullWeights } from './weights_io.js';
