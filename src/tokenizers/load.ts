// Finds and loads a model directory's tokenizer: tokenizer.json (or vocab.json + merges.txt, or BERT's vocab.txt) with
// the special tokens and BOS policy of tokenizer_config.json, and the chat template if there is one.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tokenizer } from './tokenizer.js';
import { parseTokenizerConfig, selectChatTemplate } from '../formats/hf_config.js';
import { readJsonObject } from '../util/json_file.js';
import { readTokenizerJson, stringifyTokenizerJson, tokenizerFromJson, type SpecialTokenOptions } from './tokenizer_json.js';
import { loadVocabTxt, tokenizerModelType, wordPieceFromJson, type WordPieceTokenizerJson } from './wordpiece_json.js';
import { loadVocabMerges } from './vocab_merges.js';
import { gpt2Tokenizer, gpt2TokenizerConfig, gpt2TokenizerJson } from './gpt2.js';
import { CHATML_TEMPLATE } from './chat_template.js';

export interface LoadedTokenizer {
  tokenizer: Tokenizer;
  /** tokenizer_config.json as read (or the built-in's). */
  config: Record<string, unknown>;
  /** The chat template (chat_template.jinja, or tokenizer_config.json's), null when the model has none. */
  chatTemplate: string | null;
  /** The files to save beside a model trained with this tokenizer (name -> content). */
  files: Record<string, string>;
}

/** Files that make up a tokenizer in a Hugging Face model directory. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt', 'vocab.txt', 'chat_template.jinja', 'added_tokens.json'];

/** tokenizer_config.json's special tokens and BOS/EOS policy (checked: a mistyped value names its key). */
export function specialTokenOptions(config: Record<string, unknown>, file = 'tokenizer_config.json'): SpecialTokenOptions {
  const c = parseTokenizerConfig(config, file);
  return { bosToken: c.bosToken, eosToken: c.eosToken, padToken: c.padToken, addBosToken: c.addBosToken, addEosToken: c.addEosToken };
}

/** chat_template.jinja (transformers 5), else tokenizer_config.json's: a list gives its 'default' or an error naming the others. */
function chatTemplateOf(dir: string, config: Record<string, unknown>, file: string): string | null {
  const jinja = join(dir, 'chat_template.jinja');
  if (existsSync(jinja)) return readFileSync(jinja, 'utf8');
  return selectChatTemplate(parseTokenizerConfig(config, file), 'default', file);
}

/** The tokenizer of a model directory, or null when it has no tokenizer files. */
export function loadTokenizerDir(dir: string): LoadedTokenizer | null {
  const cfgPath = join(dir, 'tokenizer_config.json');
  const config: Record<string, unknown> = existsSync(cfgPath) ? readJsonObject(cfgPath) : {};
  const special = specialTokenOptions(config, cfgPath);
  let tokenizer: Tokenizer;
  if (existsSync(join(dir, 'tokenizer.json'))) {
    const j = readTokenizerJson(join(dir, 'tokenizer.json'));
    tokenizer = tokenizerModelType(j) === 'WordPiece'
      ? wordPieceFromJson(j as unknown as WordPieceTokenizerJson, special, join(dir, 'tokenizer.json'))
      : tokenizerFromJson(j, special, join(dir, 'tokenizer.json'));
  } else if (existsSync(join(dir, 'vocab.txt'))) tokenizer = loadVocabTxt(join(dir, 'vocab.txt'), config, cfgPath);
  else if (existsSync(join(dir, 'vocab.json')) && existsSync(join(dir, 'merges.txt'))) tokenizer = loadVocabMerges(join(dir, 'vocab.json'), join(dir, 'merges.txt'), special);
  else return null;
  const files: Record<string, string> = {};
  for (const f of TOKENIZER_FILES) if (existsSync(join(dir, f))) files[f] = readFileSync(join(dir, f), 'utf8');
  return { tokenizer, config, chatTemplate: chatTemplateOf(dir, config, cfgPath), files };
}

/** A tokenizer built into gptune (offline): 'gpt2' from js-tiktoken's ranks. */
export function builtinTokenizer(name: string): LoadedTokenizer {
  if (name !== 'gpt2') throw new Error(`unknown built-in tokenizer '${name}' (built in: gpt2)`);
  const config = gpt2TokenizerConfig();
  return {
    tokenizer: gpt2Tokenizer(),
    config,
    chatTemplate: null,
    files: { 'tokenizer.json': stringifyTokenizerJson(gpt2TokenizerJson()), 'tokenizer_config.json': JSON.stringify(config, null, 2) + '\n' },
  };
}

/** --tokenizer NAME|DIR: a built-in name or a directory with tokenizer files. */
export function resolveTokenizer(spec: string): LoadedTokenizer {
  if (existsSync(spec)) {
    const t = loadTokenizerDir(spec);
    if (!t) throw new Error(`${spec}: no tokenizer.json or vocab.json + merges.txt here, nor a vocab.txt`);
    return t;
  }
  return builtinTokenizer(spec);
}

/**
 * The tokenizer files to save beside a trained model or adapter. Chat rows trained on a tokenizer with no
 * template of its own were rendered with the ChatML fallback: it is saved as chat_template.jinja (as
 * transformers 5 saves a template) so generate, chat and serve render what training saw.
 */
export function tokenizerFilesToSave(tok: LoadedTokenizer, trainedOnChat: boolean): Record<string, string> {
  if (!trainedOnChat || tok.chatTemplate !== null) return { ...tok.files };
  return { ...tok.files, 'chat_template.jinja': CHATML_TEMPLATE };
}
