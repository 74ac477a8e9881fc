// The data side of training, re-exported: corpora and task data in, batches out.
export * from './types.js';
export * from './jsonl.js';
export * from './token_cache.js';
export * from './cache_dir.js';
export * from './corpus.js';
export * from './task.js';
export * from './packing.js';
export * from './batches.js';
export { ChatTemplate, CHATML_TEMPLATE, type ChatMessage, type RenderOptions } from '../tokenizers/chat_template.js';
export * from './detect.js';
