// BERT, RoBERTa and DistilBERT heads, and GPT-2 / Llama with a score head, against the real HF classes.
import { runTaskFixtureSuite, runTaskLoraFixture } from './task_fixture_runner.js';

for (const arch of ['bert', 'roberta', 'distilbert']) {
  for (const head of ['seqcls', 'tokcls', 'mlm']) runTaskFixtureSuite(`${arch}-${head}`);
}
runTaskFixtureSuite('gpt2-seqcls');
runTaskFixtureSuite('llama-seqcls');
runTaskLoraFixture('bert-seqcls');
runTaskLoraFixture('roberta-seqcls');
runTaskLoraFixture('distilbert-seqcls');
