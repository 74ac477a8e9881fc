// GPT-2 against the PyTorch golden fixture (test/fixtures/gpt2-tiny).
import { runFixtureSuite } from './fixture_runner.js';

runFixtureSuite('gpt2-tiny');
