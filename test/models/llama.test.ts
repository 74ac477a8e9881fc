// Llama against the PyTorch golden fixture (test/fixtures/llama-tiny).
import { runFixtureSuite } from './fixture_runner.js';

runFixtureSuite('llama-tiny');
