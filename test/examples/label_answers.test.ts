// The spam example's scorer of generated answers (scripts/examples/label_answers.ts): first-word
// labels, accuracy and macro-F1 as scikit-learn computes them, and a run on the shipped model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstWord, labelScores, scoreLabelAnswers } from '../../scripts/examples/label_answers.js';
import { packagePath } from '../../src/util/package_root.js';
import { tempDir } from '../helpers/temp_dir.js';

test('the first word of an answer, lowercased, punctuation trimmed', () => {
  assert.equal(firstWord(' Spam.\nham'), 'spam');
  assert.equal(firstWord('"ham", surely'), 'ham');
  assert.equal(firstWord(''), '');
});

test('accuracy and macro-F1 over the labels; an answer that is no label is wrong and counted', () => {
  const gold = ['spam', 'ham', 'ham', 'spam', 'ham', 'spam', 'ham'];
  const pred = ['spam', 'ham', 'spam', 'xx', 'ham', 'ham', ''];
  const s = labelScores(pred, gold, ['ham', 'spam']);
  // By hand, as f1_score(gold, pred, labels=['ham','spam'], average='macro'): ham P 2/3 R 2/4, spam P 1/2 R 1/3.
  assert.equal(s.accuracy, 3 / 7);
  assert.ok(Math.abs(s.perClass.ham.f1 - 4 / 7) < 1e-12 && Math.abs(s.perClass.spam.f1 - 0.4) < 1e-12);
  assert.ok(Math.abs(s.macroF1 - (4 / 7 + 0.4) / 2) < 1e-12);
  assert.equal(s.other, 2);
  assert.deepEqual(s.confusion, [[2, 1, 1], [1, 1, 1]]);
  assert.throws(() => labelScores(['ham'], ['eggs'], ['ham', 'spam']), /gold label "eggs"/);
});

test('scores the shipped base model\'s greedy answers on two rows', () => {
  const dir = tempDir('labels-');
  try {
    const file = join(dir, 'rows.jsonl');
    writeFileSync(file, [
      { prompt: 'Subject: cheap meds now\n\nIs this e-mail spam or ham?\nAnswer:', completion: ' spam' },
      { prompt: 'Subject: Re: the build is broken\n\nIs this e-mail spam or ham?\nAnswer:', completion: ' ham' },
      { prompt: 'not scored', completion: ' ham' },
    ].map((r) => JSON.stringify(r)).join('\n'));
    const s = scoreLabelAnswers({ model: packagePath('assets', 'base-model'), data: file, limit: 2 });
    assert.equal(s.n, 2);
    assert.deepEqual(s.labels, ['ham', 'spam']);
    // The untuned model answers with English words; whatever they are, every row is in the matrix.
    assert.equal(s.confusion.flat().reduce((a, b) => a + b, 0), 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
