// GPT-2 + PEFT LoRA against the PyTorch golden fixture (test/fixtures/gpt2-tiny/lora).
import { runLoraFixtureSuite } from './lora_fixture_runner.js';

runLoraFixtureSuite('gpt2-tiny');
