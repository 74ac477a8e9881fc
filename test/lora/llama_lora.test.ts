// Llama + PEFT LoRA against the PyTorch golden fixture (test/fixtures/llama-tiny/lora); skipped until
// src/models/registry.ts knows model_type 'llama'.
import { runLoraFixtureSuite } from './lora_fixture_runner.js';

runLoraFixtureSuite('llama-tiny');
