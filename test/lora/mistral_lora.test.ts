// mistral + PEFT LoRA against test/fixtures/mistral-tiny/lora (written by PEFT 0.21 itself).
import { runLoraFixtureSuite } from './lora_fixture_runner.js';

runLoraFixtureSuite('mistral-tiny', { peftWroteConfig: true });
