// gemma3 + PEFT LoRA against test/fixtures/gemma3-tiny/lora (written by PEFT 0.21 itself).
import { runLoraFixtureSuite } from './lora_fixture_runner.js';

runLoraFixtureSuite('gemma3-tiny', { peftWroteConfig: true, bf16Base: true });
