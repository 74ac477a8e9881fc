// PEFT adapter directories <-> a model's LoRA layers: saveAdapter writes what PEFT's save_pretrained
// writes; loadAdapter applies an adapter (ours or PEFT's) to a base model, after checking every tensor.
import { mkdirSync } from 'node:fs';
import type { Tensor as FileTensor } from '../formats/safetensors.js';
import type { DType } from '../formats/dtype.js';
import {
  openAdapterWeights, parsePeftKey, peftKey, readAdapterConfig, writeAdapterDir,
} from '../formats/peft_adapter.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { GptuneError, shapeStr } from '../util/errors.js';
import { loraConfig, loraConfigToJson } from './config.js';
import { type LoraPlan, type LoraSummary, applyLoraPlan, loraConfigOf, loraModules, modulesToSaveParameters, planLora } from './inject.js';

export interface SaveAdapterOptions {
  /** Dtype of the saved factors (PEFT saves the training dtype; F32 here). */
  dtype?: Extract<DType, 'F32' | 'F16' | 'BF16'>;
  /** Recorded in adapter_config.json; defaults to the value in the applied config. */
  baseModelNameOrPath?: string | null;
}

/**
 * The adapter's tensors under PEFT's keys (base_model.model.<module>.lora_A.weight ...), model order,
 * then the modules_to_save parameters (base_model.model.classifier.weight: PEFT drops the wrapper's names).
 */
export function adapterTensors(model: Module): Array<[string, Tensor]> {
  const cfg = loraConfigOf(model);
  return [
    ...loraModules(model).flatMap(([name, m]): Array<[string, Tensor]> => [
      [peftKey(name, 'lora_A'), m.lora_A.weight],
      [peftKey(name, 'lora_B'), m.lora_B.weight],
    ]),
    ...(cfg ? savedModuleTensors(model, cfg) : []),
  ];
}

function savedModuleTensors(model: Module, cfg: Parameters<typeof modulesToSaveParameters>[1]): Array<[string, Tensor]> {
  return modulesToSaveParameters(model, cfg).map(([n, p]): [string, Tensor] => [`${PEFT_PREFIX}${n}`, p]);
}

const PEFT_PREFIX = 'base_model.model.';

/** Writes adapter_model.safetensors and adapter_config.json (each atomically) into dir. */
export function saveAdapter(model: Module, dir: string, { dtype = 'F32', baseModelNameOrPath }: SaveAdapterOptions = {}): void {
  const cfg = loraConfigOf(model);
  if (!cfg) throw new GptuneError('the model has no LoRA adapter to save (applyLora or loadAdapter first)');
  const tensors = adapterTensors(model).map(([k, t]): [string, FileTensor] => [k, { dtype, shape: [...t.shape], data: t.data }]);
  mkdirSync(dir, { recursive: true });
  // PEFT's save_pretrained always records inference_mode true.
  const json = loraConfigToJson({ ...cfg, inference_mode: true, base_model_name_or_path: baseModelNameOrPath === undefined ? cfg.base_model_name_or_path : baseModelNameOrPath });
  writeAdapterDir(dir, json, tensors);
}

export interface LoadAdapterOptions {
  /** true: the LoRA factors train (resume / continue); default false, PEFT's is_trainable=False. */
  trainable?: boolean;
}

/**
 * Applies the adapter in dir to a base model. Everything is checked before the model changes: each
 * key names a module the base has and the config selects, each shape fits, no factor is missing.
 */
export function loadAdapter(model: Module, dir: string, { trainable = false }: LoadAdapterOptions = {}): LoraSummary {
  const { plan, factors } = readAdapter(model, dir);
  const summary = applyLoraPlan(model, plan, { trainable, strictTargets: false });
  for (const [key, t] of adapterTensors(model)) t.data.set(factors.get(key)!);
  return summary;
}

/** An adapter read and checked against a base model, not applied: its plan and factors by PEFT key. */
export interface ReadAdapter {
  plan: LoraPlan;
  factors: Map<string, Float32Array>;
}

/** Reads and checks an adapter directory against the (unadapted) base model; the model is not changed. */
export function readAdapter(model: Module, dir: string): ReadAdapter {
  const { path: configPath, raw } = readAdapterConfig(dir);
  const cfg = loraConfig(raw, configPath);
  const file = openAdapterWeights(dir);
  try {
    const where = { file: file.path };
    const modules = new Set(model.namedModules().map(([n]) => n));
    const byModule = new Map<string, Partial<Record<'lora_A' | 'lora_B', string>>>();
    // modules_to_save: whole parameters of the head, saved under base_model.model.<parameter>.
    const savedParams = new Map(savedModuleTensors(model, cfg));
    for (const key of file.names()) {
      if (savedParams.has(key)) continue;
      const k = parsePeftKey(key);
      if (!k) {
        throw new GptuneError(`tensor '${key}' is not a LoRA factor gptune can load (expected base_model.model.<module>.lora_A.weight / ` +
          '.lora_B.weight; DoRA magnitudes, embedding LoRA, lora biases and modules_to_save are not supported)', where);
      }
      if (!modules.has(k.module)) throw new GptuneError(`tensor '${key}' is for module '${k.module}', which the base model does not have`, where);
      const e = byModule.get(k.module) ?? {};
      e[k.factor] = key;
      byModule.set(k.module, e);
    }
    const plan = planLora(model, cfg, { strictTargets: false });
    const planned = new Map(plan.entries.map((e) => [e.name, e]));
    for (const [module, keys] of byModule) {
      if (!planned.has(module)) {
        throw new GptuneError(`tensor '${keys.lora_A ?? keys.lora_B}' is for module '${module}', which target_modules ` +
          `${JSON.stringify(cfg.target_modules)} in ${configPath} does not select`, where);
      }
    }
    for (const e of plan.entries) {
      const keys = byModule.get(e.name) ?? {};
      const want = { lora_A: [e.r, e.inFeatures], lora_B: [e.outFeatures, e.r] };
      for (const factor of ['lora_A', 'lora_B'] as const) {
        const key = keys[factor];
        if (!key) throw new GptuneError(`no tensor '${peftKey(e.name, factor)}' for adapted module '${e.name}' ${shapeStr(want[factor])}`, where);
        const got = file.info(key).shape;
        if (got.length !== 2 || got[0] !== want[factor][0] || got[1] !== want[factor][1]) {
          throw new GptuneError(`tensor '${key}' has shape ${shapeStr(got)}, but module '${e.name}' of the base model needs ` +
            `${shapeStr(want[factor])} (r ${e.r}, in ${e.inFeatures}, out ${e.outFeatures}): was the adapter made for another base model?`, where);
        }
      }
    }
    // Read every factor before touching the model, so an unreadable tensor changes nothing either.
    const factors = new Map(plan.entries.flatMap((e) => (['lora_A', 'lora_B'] as const).map((f): [string, Float32Array] => [peftKey(e.name, f), file.readFloat32(byModule.get(e.name)![f]!)])));
    for (const [key, p] of savedParams) {
      if (!file.has(key)) throw new GptuneError(`no tensor '${key}' ${shapeStr(p.shape)} for modules_to_save ${JSON.stringify(cfg.modules_to_save)}`, where);
      const got = file.info(key).shape;
      if (got.length !== p.shape.length || got.some((d, i) => d !== p.shape[i])) {
        throw new GptuneError(`tensor '${key}' has shape ${shapeStr(got)}, the model's needs ${shapeStr(p.shape)} (another number of labels?)`, where);
      }
      factors.set(key, file.readFloat32(key));
    }
    return { plan, factors };
  } finally {
    file.close();
  }
}

/**
 * Copies the factors of an adapter directory into a model that already has the same LoRA layers
 * (resuming training from a checkpoint); names the missing or mis-shaped tensor.
 */
export function loadAdapterWeights(model: Module, dir: string): void {
  const expected = adapterTensors(model);
  if (expected.length === 0) throw new GptuneError('the model has no LoRA layers to load into (applyLora first)');
  const file = openAdapterWeights(dir);
  try {
    const want = new Set(expected.map(([k]) => k));
    for (const key of file.names()) {
      if (!want.has(key)) throw new GptuneError(`tensor '${key}' matches no LoRA layer of the model`, { file: file.path });
    }
    const data = expected.map(([key, t]) => {
      if (!file.has(key)) throw new GptuneError(`missing tensor '${key}' ${shapeStr(t.shape)}`, { file: file.path });
      const got = file.info(key).shape;
      if (got.length !== t.shape.length || got.some((d, i) => d !== t.shape[i])) {
        throw new GptuneError(`tensor '${key}' has shape ${shapeStr(got)}, the model's LoRA layer needs ${shapeStr(t.shape)}`, { file: file.path });
      }
      return file.readFloat32(key);
    });
    expected.forEach(([, t], i) => t.data.set(data[i]));
  } finally {
    file.close();
  }
}

/** Checkpoint hooks for the trainer: a LoRA run's checkpoints are PEFT adapter directories. */
export function loraCheckpointHooks(model: Module, opts: SaveAdapterOptions = {}): { saveWeights(dir: string): void; loadWeights(dir: string): void } {
  return {
    saveWeights: (dir) => saveAdapter(model, dir, opts),
    loadWeights: (dir) => loadAdapterWeights(model, dir),
  };
}
