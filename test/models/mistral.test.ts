// mistral against the golden fixture test/fixtures/mistral-tiny, produced by the real Hugging Face class
// (scripts/fixtures/make_arch_fixtures.py); its sliding window (6) is shorter than the sequence (16).
import { runFixtureSuite } from './fixture_runner.js';

runFixtureSuite('mistral-tiny');
