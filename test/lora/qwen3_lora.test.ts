// qwen3 + PEFT LoRA against test/fixtures/qwen3-tiny/lora (written by PEFT 0.21 itself).
import { runLoraFixtureSuite } from './lora_fixture_runner.js';

runLoraFixtureSuite('qwen3-tiny', { peftWroteConfig: true });
