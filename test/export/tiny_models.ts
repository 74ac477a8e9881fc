// Model directories for the export tests: the gpt2-tiny and llama-tiny fixtures given a trained
// 512-token byte-level BPE tokenizer (the fixtures have none), and a random SmolLM-shaped model
// (tied embeddings, GQA, SmolLM's Digits + ByteLevel pre-tokenizer, ChatML template).
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trainBpeSync, saveTrainedTokenizer } from '../../src/tokenizers/train_bpe.js';
import { createModel } from '../../src/models/registry.js';
import { saveModel } from '../../src/models/load.js';
import { fixturePath, FIXTURES } from '../helpers/fixtures.js';

const LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
export const CHATML_TEMPLATE = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** English to train the 512-token tokenizers on: Moby Dick's first chapter (a pinned devDependency, so the tokenizers never change). */
function trainingText(): string {
  return readFileSync(join(FIXTURES, '..', '..', 'node_modules', '@stdlib', 'datasets-moby-dick', 'data', 'chapter_1.txt'), 'utf8');
}

function writeTokenizer(dir: string, specials: string[], edit: { pre?: unknown; config?: Record<string, unknown> }): void {
  const result = trainBpeSync([trainingText()], { vocabSize: 512, specialTokens: specials });
  saveTrainedTokenizer(dir, result, { modelMaxLength: 128, eosToken: specials[0] });
  const tj = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  if (edit.pre) tj.pre_tokenizer = edit.pre;
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tj, null, 2));
  const cfg = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...cfg, ...edit.config }, null, 2));
}

/** gpt2-tiny with a GPT-2-style tokenizer (<|endoftext|> = 0 = bos = eos, as its config says). */
export function gpt2TinyDir(dir: string): string {
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(fixturePath('gpt2-tiny', f), join(dir, f));
  writeTokenizer(dir, ['<|endoftext|>'], {});
  return dir;
}

/** llama-tiny with a Llama 3-style tokenizer (<unk> 0, <s> 1 = bos, </s> 2 = eos; BOS added). */
export function llamaTinyDir(dir: string): string {
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(fixturePath('llama-tiny', f), join(dir, f));
  writeTokenizer(dir, ['<unk>', '<s>', '</s>'], {
    pre: { type: 'Sequence', pretokenizers: [
      { type: 'Split', pattern: { Regex: LLAMA3_SPLIT }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ] },
    config: { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', add_bos_token: true },
  });
  return dir;
}

/** A random SmolLM-shaped Llama (tied head, 4 query / 2 kv heads) with weights drawn wide enough for clear argmaxes. */
export function smolLmDir(dir: string, seed = 4): string {
  const config = {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 512, hidden_size: 64, intermediate_size: 128,
    num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 128,
    rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: true, bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu',
    initializer_range: 0.08,
  };
  const model = createModel(config);
  model.initWeights(seed);
  saveModel(dir, model, config);
  writeTokenizer(dir, ['<|endoftext|>', '<|im_start|>', '<|im_end|>'], {
    pre: { type: 'Sequence', pretokenizers: [
      { type: 'Digits', individual_digits: true },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    ] },
    config: { bos_token: '<|im_start|>', eos_token: '<|im_end|>', chat_template: CHATML_TEMPLATE },
  });
  return dir;
}
