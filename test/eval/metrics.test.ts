// Text metrics against values worked out by hand, including rouge_score's own test cases and README example.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aggregate, containsAnswer, exactMatch, formatTable, lcsLength, normalizeAnswer, rougeL, rougeLScore, rougeTokenize,
  scoreCompletion, tokenF1,
} from '../../src/eval/metrics.js';

const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} != ${b}`);

test('normalizeAnswer follows SQuAD: lower, punctuation, then articles, then whitespace', () => {
  assert.equal(normalizeAnswer('The Cat  sat on a mat!'), 'cat sat on mat');
  // Punctuation goes first, so "an-other" becomes "another" and is not an article.
  assert.equal(normalizeAnswer('An apple, an-other'), 'apple another');
  assert.equal(normalizeAnswer('theory of anthems'), 'theory of anthems');
  assert.equal(normalizeAnswer('  A.B\tC\n'), 'ab c');
  // Python's \b is Unicode-aware: "the" glued to "é" is not a word; non-ASCII punctuation survives.
  assert.equal(normalizeAnswer('éthe the café'), 'éthe café');
  assert.equal(normalizeAnswer('It’s 2-year'), 'it’s 2year');
  assert.equal(normalizeAnswer('the a an'), '');
});

test('exactMatch compares normalised strings, best over several references', () => {
  assert.equal(exactMatch('The answer is 10 seconds.', 'answer is 10 seconds'), 1);
  assert.equal(exactMatch('10 seconds', '10 second'), 0);
  assert.equal(exactMatch('Paris', ['London', 'paris.']), 1);
  assert.equal(exactMatch('Paris', ['London', 'Rome']), 0);
  assert.equal(exactMatch('', 'the'), 1); // both normalise to ""
  assert.throws(() => exactMatch('x', []), /empty/);
});

test('containsAnswer finds the normalised answer as whole words', () => {
  assert.equal(containsAnswer('Hold the power button for 10 seconds until it blinks.', '10 seconds'), 1);
  assert.equal(containsAnswer('It lasts 2 years.', 'The 2 Years'), 1);
  assert.equal(containsAnswer('It lasts 12 years.', '2 years'), 0);
  assert.equal(containsAnswer('2 yearsx', '2 years'), 0);
  assert.equal(containsAnswer('Connects to 2.4 GHz Wi-Fi', '2.4 GHz'), 1);
  assert.equal(containsAnswer('Connects to 24 GHz', '2.4 GHz'), 1); // the price of SQuAD's punctuation removal
  assert.equal(containsAnswer('nothing here', ['absent', 'here']), 1);
  assert.equal(containsAnswer('anything', ''), 1);
});

test('tokenF1 is SQuAD f1_score: shared normalised words counted with multiplicity', () => {
  near(tokenF1('the cat sat', 'cat sat on the mat'), 2 / 3, 'P 2/2, R 2/4'); // 2*1*0.5/1.5
  near(tokenF1('cat cat cat', 'cat dog'), 0.4, 'P 1/3, R 1/2');
  assert.equal(tokenF1('dog', 'cat'), 0);
  assert.equal(tokenF1('', ''), 0); // SQuAD v1.1 returns 0 when nothing is shared
  near(tokenF1('cat', ['dog', 'cat dog']), 2 / 3, 'best reference');
});

test('rougeTokenize is rouge_score tokenize without stemming', () => {
  assert.deepEqual(rougeTokenize("Hello, World! It's 2-year café"), ['hello', 'world', 'it', 's', '2', 'year', 'caf']);
  assert.deepEqual(rougeTokenize(' ... '), []);
});

test('lcsLength: the CLRS example ABCBDAB / BDCABA has LCS 4', () => {
  assert.equal(lcsLength([...'ABCBDAB'], [...'BDCABA']), 4);
  assert.equal(lcsLength([], ['a']), 0);
  assert.equal(lcsLength(['a', 'b', 'c', 'd'], ['d', 'c', 'b', 'a']), 1);
});

test('rougeL matches rouge_score: precision over the prediction, recall over the reference', () => {
  // rouge_scorer_test.py testRougeLConsecutive / testRougeLNonConsecutive: score("testing one two", pred)
  for (const pred of ['testing one', 'testing two']) {
    const s = rougeLScore(pred, 'testing one two');
    near(s.precision, 1, 'precision');
    near(s.recall, 2 / 3, 'recall');
    near(s.fmeasure, 0.8, 'f'); // 2 * 1 * (2/3) / (5/3)
  }
  // testRougeLEmpty: an empty prediction scores 0 (and an empty reference too).
  assert.deepEqual(rougeLScore('', 'testing one two'), { precision: 0, recall: 0, fmeasure: 0 });
  assert.deepEqual(rougeLScore('testing', '!!!'), { precision: 0, recall: 0, fmeasure: 0 });
  // The rouge_score README: LCS "the quick brown jumps the" = 5 of 8 predicted, 5 of 9 reference tokens.
  const r = rougeLScore('The quick brown dog jumps on the log.', 'The quick brown fox jumps over the lazy dog');
  near(r.precision, 0.625, 'README precision');
  near(r.recall, 5 / 9, 'README recall');
  near(r.fmeasure, 10 / 17, 'README f'); // 0.5882352941176471
  near(rougeL('a b c d', 'd c b a'), 0.25, 'reversed');
  near(rougeL('testing', 'testing one two'), 0.5, 'P 1, R 1/3');
  near(rougeL('testing', ['nothing', 'testing one two']), 0.5, 'best reference');
  assert.equal(rougeL('Same Words.', 'same words'), 1);
});

test('scoreCompletion: contains-answer on the key phrase, the rest on the whole reference', () => {
  const ref = 'Hold the power button for 10 seconds until the light blinks twice.';
  assert.deepEqual(scoreCompletion(' hold the power button for 10 seconds until the light blinks twice', ref, '10 seconds'),
    { exact_match: 1, contains_answer: 1, f1: 1, rougeL: 1 });
  const s = scoreCompletion('Hold it for 5 seconds.', ref, '10 seconds');
  assert.equal(s.exact_match, 0);
  assert.equal(s.contains_answer, 0);
  // rouge tokens: hold it for 5 seconds (5) vs 12 reference tokens; LCS "hold for seconds" = 3.
  near(s.rougeL, (2 * (3 / 5) * (3 / 12)) / (3 / 5 + 3 / 12), 'rougeL');
  // SQuAD words: hold it for 5 seconds vs 10 words (the x2 dropped); shared hold, for, seconds.
  near(s.f1, (2 * (3 / 5) * (3 / 10)) / (3 / 5 + 3 / 10), 'f1');
});

test('aggregate averages each key and refuses empty or ragged rows', () => {
  assert.deepEqual(aggregate([{ a: 1, b: 0 }, { a: 0, b: 0.5 }]), { a: 0.5, b: 0.25 });
  assert.throws(() => aggregate([]), /no rows/);
  assert.throws(() => aggregate([{ a: 1 }, { b: 1 } as unknown as { a: number }]), /row 1 has keys b/);
});

test('formatTable aligns names left and numbers right, with a signed change', () => {
  const t = formatTable([
    { name: 'exact_match', before: 0, after: 0.65 },
    { name: 'rougeL', before: 0.1234, after: 0.1 },
    { name: 'loss', before: null, after: 2.5 },
    { name: 'f1', before: 0.5, after: 0.5 },
  ]);
  assert.equal(t, [
    'metric       before  after  change',
    'exact_match   0.000  0.650  +0.650',
    'rougeL        0.123  0.100  -0.023',
    'loss              -  2.500       -',
    'f1            0.500  0.500   0.000',
  ].join('\n'));
  assert.equal(formatTable([{ name: 'x', before: 1, after: 1.00001 }], { digits: 1 }).split('\n')[1], 'x          1.0    1.0     0.0');
});
