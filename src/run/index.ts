// The run layer's public surface: each command's option table and the function it calls, so a
// library user runs exactly what `gptune <command>` runs with the same options object.
export { opt, resolveOptions, coerceOption, kebab, camel, helpText, type OptionDecl, type OptionTable, type OptionValues, type Sources } from './option.js';
export { readConfigFile } from './config_file.js';
export { openModel, requireTokenizer, withTokenizerEos, taskEncoding, type OpenedModel, type OpenModelOptions } from './model.js';
export { TRAIN_OPTIONS, SAVE_DTYPES, type TrainRunOptions } from './train_options.js';
export { prepareTraining, runTraining, type PreparedTraining, type TrainingResult, type Log } from './train.js';
export { START_OPTIONS, startPreset, runStart, type StartOptions, type StartReport } from './start.js';
export { GENERATE_OPTIONS, runGenerate, type GenerateRunOptions } from './generate.js';
export { EVAL_OPTIONS, runEval, type EvalRunOptions, type EvalResult } from './eval.js';
export { runClassificationEval, type ClassificationEvalResult } from './eval_classification.js';
export { PREDICT_OPTIONS, runPredict, type PredictRunOptions, type Prediction } from './predict.js';
export { openTaskModel, type OpenedTaskModel, type OpenTaskModelOptions } from './task_open.js';
export { MERGE_OPTIONS, runMerge, type MergeRunOptions } from './merge.js';
export { TOKENIZE_OPTIONS, TOKENIZER_TRAIN_OPTIONS, runTokenize, runTokenizerTrain, type TokenizeRunOptions, type TokenizerTrainRunOptions } from './tokenize.js';
export * from './cache.js';
export * from './serve.js';
export * from './export.js';
export * from './studio.js';
