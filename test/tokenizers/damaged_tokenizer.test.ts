// transformers 5's re-save of DeepSeek-V3's byte-level tokenizer as a SentencePiece-style pipeline
// (resaved_pipelines.json, made with transformers 5.17): HF tokenizers loses the spaces with it, and
// gptune refuses it by name, pointing to the original file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tokenizerFromJson, type TokenizerJson } from '../../src/tokenizers/tokenizer_json.js';
import { GptuneError } from '../../src/util/errors.js';
import { hfFromJson, lenmlDir, readJson } from './hf_reference.js';

test('a byte-level vocab re-saved with Metaspace + byte_fallback is refused, and HF shows why', async () => {
  const c = readJson<{ cases: Record<string, Record<string, unknown>> }>(join(process.cwd(), 'test/fixtures/tokenizers/resaved_pipelines.json')).cases.deepseek_v3_resaved;
  const orig = readJson<TokenizerJson>(join(lenmlDir('deepseek_v3'), 'tokenizer.json'));
  const damaged = { ...orig, normalizer: c.normalizer, pre_tokenizer: c.pre_tokenizer, decoder: c.decoder, post_processor: c.post_processor, model: { ...orig.model, ...(c.model as object) } } as TokenizerJson;

  // The damage is real: HF's own tokenizers drops every space with this file.
  const hf = hfFromJson(damaged);
  const [enc] = await hf.encodeBatch(['Hello world, how are you?'], { addSpecialTokens: false });
  const [back] = await hf.decodeBatch([enc.getIds()], false);
  assert.equal(back, 'Helloworld,howareyou?');

  assert.throws(() => tokenizerFromJson(damaged, {}, 'ds/tokenizer.json'), (e: unknown) => {
    assert.ok(e instanceof GptuneError);
    assert.match(e.message, /^ds\/tokenizer\.json: damaged tokenizer: a byte-level BPE vocabulary \(\d+ tokens start with 'Ġ', none with '▁'\) is read with a Metaspace pre-tokenizer\/decoder and byte_fallback, so spaces would be lost/);
    assert.match(e.message, /\(transformers issue 45488\)\. Use the original tokenizer\.json/);
    return true;
  });
  // The original file, and a real SentencePiece vocab with the same pipeline, load.
  assert.doesNotThrow(() => tokenizerFromJson(orig));
  const llama2 = readJson<TokenizerJson>(join(lenmlDir('llama2'), 'tokenizer.json'));
  assert.doesNotThrow(() => tokenizerFromJson({ ...llama2, normalizer: null, pre_tokenizer: damaged.pre_tokenizer, decoder: damaged.decoder }));
});
