// gptune generate: text (streamed) or JSON from a model directory, optionally with a LoRA adapter.
import type { Command } from 'commander';
import { num, UsageError } from '../errors.js';
import { loadForInference, parseIds } from '../load_model.js';
import { generate } from '../../generate/generate.js';

interface GenerateFlags {
  model: string; adapter?: string; tokenizer?: string; prompt?: string; promptIds?: string; maxNewTokens?: number;
  temperature?: number; topK?: number; topP?: number; repetitionPenalty?: number; seed: number; stop?: string[]; json?: boolean;
}

export function registerGenerate(program: Command): void {
  program.command('generate')
    .description('generate a continuation of a prompt')
    .requiredOption('--model <dir>', 'Hugging Face model directory (config.json + model.safetensors)')
    .option('--adapter <dir>', 'a LoRA adapter (PEFT format) to apply')
    .option('--tokenizer <name|dir>', 'tokenizer to use instead of the model directory\'s (built in: gpt2)')
    .option('--prompt <text>', 'the prompt text')
    .option('--prompt-ids <ids>', 'the prompt as token ids, e.g. 1,2,3 (needs no tokenizer)')
    .option('--max-new-tokens <n>', 'tokens to generate (default: generation_config.json, else 50)', num('--max-new-tokens', { int: true, min: 1 }))
    .option('--temperature <t>', 'sampling temperature; 0 is greedy (default: generation_config.json, else greedy)', num('--temperature', { min: 0 }))
    .option('--top-k <k>', 'keep the k most likely tokens (0: off)', num('--top-k', { int: true, min: 0 }))
    .option('--top-p <p>', 'nucleus sampling: keep tokens up to probability p', num('--top-p', { min: 0, max: 1 }))
    .option('--repetition-penalty <r>', 'penalise tokens already in the sequence (1: off)', num('--repetition-penalty', { min: 0 }))
    .option('--seed <s>', 'sampling seed', num('--seed', { int: true, min: 0 }), 0)
    .option('--stop <string...>', 'stop when the text reaches one of these strings')
    .option('--json', 'print {"ids": [...], "text": ...} instead of streaming text')
    .action((flags: GenerateFlags) => runGenerate(flags));
}

function runGenerate(f: GenerateFlags): void {
  if ((f.prompt === undefined) === (f.promptIds === undefined)) throw new UsageError('give exactly one of --prompt and --prompt-ids');
  const setup = loadForInference(f.model, f.adapter, f.tokenizer);
  const { model, tok } = setup;
  let prompt: number[];
  if (f.promptIds !== undefined) prompt = parseIds('--prompt-ids', f.promptIds);
  else {
    if (!tok) throw new UsageError(`${f.model} has no tokenizer files: use --prompt-ids or --tokenizer`);
    if (f.prompt === '') throw new UsageError('the prompt is empty');
    prompt = tok.tokenizer.encode(f.prompt!);
  }
  if (prompt.length === 0) throw new UsageError('the prompt is empty');
  const gen = setup.generationConfig ?? {};
  // generation_config.json's defaults, as transformers' generate() applies them; flags win.
  const sampling = gen.do_sample === true;
  const temperature = f.temperature ?? (sampling ? (gen.temperature as number | undefined) ?? 1 : 0);
  const decode = tok ? (ids: readonly number[]) => tok.tokenizer.decode(ids) : undefined;
  const stream = !f.json && decode !== undefined;
  const result = generate(model, prompt, {
    maxNewTokens: f.maxNewTokens ?? (gen.max_new_tokens as number | undefined) ?? 50,
    temperature,
    topK: f.topK ?? (sampling ? (gen.top_k as number | undefined) ?? 50 : 0),
    topP: f.topP ?? (sampling ? (gen.top_p as number | undefined) ?? 1 : 1),
    repetitionPenalty: f.repetitionPenalty ?? (gen.repetition_penalty as number | undefined) ?? 1,
    seed: f.seed,
    eosIds: setup.eosIds,
    stopStrings: f.stop ?? [],
    decode,
    onToken: stream ? (_id, delta) => { if (delta) process.stdout.write(delta); } : undefined,
  });
  if (result.finishReason === 'context') process.stderr.write(`gptune: generation stopped at the model's context (${model.maxPositions} tokens) after ${result.ids.length} new tokens\n`);
  if (f.json) process.stdout.write(JSON.stringify({ ids: result.ids, text: result.text, finish_reason: result.finishReason }) + '\n');
  else if (stream) process.stdout.write('\n');
  else process.stdout.write(result.ids.join(',') + '\n');
}
