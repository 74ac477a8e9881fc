// Stop strings while streaming: matched across token boundaries, never shown, and a possible prefix
// held back until it can no longer become one (the `<|im_end|>` of examples/chat.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StopStream, checkStops, heldBackLength } from '../../src/generate/stop_strings.js';
import { generate } from '../../src/generate/generate.js';
import { openModel } from '../../src/run/model.js';
import { fixturePath } from '../helpers/fixtures.js';
import { join } from 'node:path';

test('a possible stop-string prefix is held back; text that cannot become one is released', () => {
  const stops = ['<|im_end|>', 'END'];
  assert.equal(heldBackLength('hello <|im_', stops), 5);
  assert.equal(heldBackLength('hello E', stops), 1);
  assert.equal(heldBackLength('hello', stops), 0);
  assert.deepEqual(checkStops('hi <|im', stops), { visible: 'hi ', stopped: false });
  assert.deepEqual(checkStops('hi <|im_end|> more', stops), { visible: 'hi ', stopped: true });
  assert.deepEqual(checkStops('caf\ufffd', []), { visible: 'caf', stopped: false }, 'an incomplete character waits');
  assert.deepEqual(checkStops('hi <|im', stops, true), { visible: 'hi <|im', stopped: false }, 'the end releases everything');
});

test('StopStream: deltas over token-sized pieces concatenate to the text before the stop, never a piece of it', () => {
  const pieces = ['Sure', ', the', ' warranty is 2 years.', '<|', 'im', '_end', '|>', '\n<|im_start|>'];
  const s = new StopStream(['<|im_end|>']);
  let text = '', shown = '';
  for (const p of pieces) {
    text += p;
    const d = s.push(text);
    shown += d;
    assert.ok(!d.includes('<|'), `delta ${JSON.stringify(d)} shows part of the stop string`);
    if (s.stopped) break;
  }
  assert.equal(shown, 'Sure, the warranty is 2 years.');
  assert.ok(s.stopped);
  // A false start is released once it cannot match: "<|im_start" is not "<|im_end|>".
  const t = new StopStream(['<|im_end|>']);
  assert.equal(t.push('a <|im_'), 'a ');
  assert.equal(t.push('a <|im_s'), '<|im_s');
  assert.equal(t.finish('a <|im_s'), '');
  const u = new StopStream(['END']);
  assert.equal(u.push('the E'), 'the ');
  assert.equal(u.finish('the E'), 'E', 'at the end of generation the held-back text is real text');
});

test('generate: the streamed text never shows a stop string split over tokens, and finishReason says why it ended', () => {
  const setup = openModel(join(fixturePath(), '..', '..', 'assets', 'base-model'));
  const tok = setup.tok!.tokenizer;
  const decode = (ids: readonly number[]) => tok.decode(ids);
  const prompt = tok.encode('Customer: my order is late\nAgent:');
  const free = generate(setup.model, prompt, { maxNewTokens: 16, decode });
  assert.equal(free.finishReason, 'length');
  // A stop string made of the end of one token and the start of the next.
  const ids = free.ids;
  const at = tok.decode(ids.slice(0, 4)).length;
  const stop = free.text!.slice(at - 2, at + 3);
  let streamed = '';
  const r = generate(setup.model, prompt, { maxNewTokens: 16, decode, stopStrings: [stop], onToken: (_id, d) => { streamed += d; } });
  assert.equal(r.finishReason, 'stop');
  assert.equal(r.text, free.text!.slice(0, free.text!.indexOf(stop)));
  assert.equal(streamed, r.text);
  const long = Array.from({ length: setup.model.maxPositions - 3 }, (_, i) => prompt[i % prompt.length]);
  const ctx = generate(setup.model, long, { maxNewTokens: 1000, eosIds: [] });
  assert.equal(ctx.finishReason, 'context');
  assert.equal(ctx.ids.length, 3);
});
