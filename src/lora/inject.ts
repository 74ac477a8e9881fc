// Puts LoRA into a model the way PEFT's LoraModel does: picks modules by PEFT's target_modules rules,
// swaps those Linears in place for LoraLinear, and freezes every other parameter.
import { Module } from '../nn/module.js';
import { Linear } from '../nn/layers.js';
import { Tensor } from '../tensor/tensor.js';
import type { WeightLayout } from '../tensor/ops/linear.js';
import { forwardDropoutSeed } from '../tensor/ops/dropout.js';
import { GptuneError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { ALL_LINEAR, DEFAULT_TARGET_MODULES, type LoraConfig, loraConfig, patternValue } from './config.js';
import { LoraLinear, loraDropoutSeed } from './lora_linear.js';

/** One module to adapt, decided before the model is touched (so a bad adapter changes nothing). */
export interface LoraPlanEntry {
  name: string;
  r: number;
  alpha: number;
  inFeatures: number;
  outFeatures: number;
  layout: WeightLayout;
}

export interface LoraPlan {
  /** The config as it will be saved: target_modules resolved like PEFT resolves it, fan_in_fan_out from the layers. */
  config: LoraConfig;
  entries: LoraPlanEntry[];
}

export interface LoraSummary {
  config: LoraConfig;
  /** Adapted module names, in model order. */
  adapted: string[];
  trainableParams: number;
  /** Every parameter, LoRA's included (PEFT's "all params"). */
  totalParams: number;
}

export interface ApplyLoraOptions {
  /** Seeds lora_A's initial values. */
  seed?: number;
  /** false: LoRA parameters are frozen too (inference; PEFT's inference_mode). */
  trainable?: boolean;
  /**
   * true (default): every entry of a list target_modules must match some module (a typo fails
   * loudly). false: PEFT's rule, only "nothing matched at all" fails (used when loading adapters).
   */
  strictTargets?: boolean;
}

const configs = new WeakMap<Module, LoraConfig>();

/** The LoRA config applied to this model, if any. */
export function loraConfigOf(model: Module): LoraConfig | undefined {
  return configs.get(model);
}

/**
 * Adapts the model in place: the selected Linears become LoraLinear (lora_A kaiming-uniform from a
 * seeded generator, lora_B zeros), every other parameter is frozen (requiresGrad false, no grad buffer).
 */
export function applyLora(model: Module, config: Partial<LoraConfig> | LoraConfig, opts: ApplyLoraOptions = {}): LoraSummary {
  return applyLoraPlan(model, planLora(model, config, opts), opts);
}

/** Which modules a config adapts, with their ranks and shapes; the model is not modified. */
export function planLora(model: Module, config: Partial<LoraConfig> | LoraConfig, { strictTargets = true }: ApplyLoraOptions = {}): LoraPlan {
  if (configs.has(model) || loraModules(model).length) {
    throw new GptuneError('the model already has LoRA layers (one adapter per model; fuse or reload the base first)');
  }
  const cfg = loraConfig(config);
  const modelType = (model as { config?: { model_type?: unknown } }).config?.model_type;
  const slots = moduleSlots(model);
  const linears = slots.filter((s) => s.module instanceof Linear);

  let targets = cfg.target_modules;
  if (targets === null) {
    const def = typeof modelType === 'string' ? DEFAULT_TARGET_MODULES[modelType] : undefined;
    if (!def) throw new GptuneError(`target_modules is not set and model_type ${JSON.stringify(modelType)} has no default; give target_modules (or "${ALL_LINEAR}")`, { key: 'target_modules' });
    targets = [...def];
  } else if (typeof targets === 'string' && targets.toLowerCase() === ALL_LINEAR) {
    // PEFT: every Linear / Conv1D except the output head, by full name.
    targets = linears.map((s) => s.name).filter((n) => n !== 'lm_head' && !inModulesToSave(cfg.modules_to_save, n));
  }
  const matchedEntries = new Set<string>();
  const entries: LoraPlanEntry[] = [];
  for (const slot of slots) {
    // PEFT never adapts a modules_to_save module (a task head trains in full instead).
    if (isIn(cfg.exclude_modules, slot.name) || inModulesToSave(cfg.modules_to_save, slot.name)) continue;
    const hits = typeof targets === 'string' ? (fullMatch(targets, slot.name) ? [targets] : []) : listMatches(targets, slot.name);
    if (hits.length === 0 || !layerSelected(cfg, targets, slot.name)) continue;
    for (const t of hits) matchedEntries.add(t);
    if (!(slot.module instanceof Linear)) {
      throw new GptuneError(`target_modules selects '${slot.name}', which is a ${slot.module.constructor.name}, not a Linear ` +
        `(LoRA adapts Linear layers; the model's are ${describeNames(linears.map((s) => s.name))})`, { key: 'target_modules' });
    }
    const lin = slot.module;
    entries.push({
      name: slot.name,
      r: patternValue(cfg.rank_pattern, slot.name) ?? cfg.r,
      alpha: patternValue(cfg.alpha_pattern, slot.name) ?? cfg.lora_alpha,
      inFeatures: lin.inFeatures,
      outFeatures: lin.outFeatures,
      layout: lin.layout,
    });
  }
  const shown = typeof targets === 'string' ? JSON.stringify(targets) : `[${targets.map((t) => JSON.stringify(t)).join(', ')}]`;
  if (entries.length === 0) {
    throw new GptuneError(`target_modules ${shown} matches no module of the model; its Linear modules are ${describeNames(linears.map((s) => s.name))}`, { key: 'target_modules' });
  }
  if (strictTargets && Array.isArray(targets)) {
    const unmatched = targets.filter((t) => !matchedEntries.has(t));
    if (unmatched.length) {
      throw new GptuneError(`target_modules entr${unmatched.length > 1 ? 'ies' : 'y'} ${unmatched.map((t) => JSON.stringify(t)).join(', ')} ` +
        `match${unmatched.length > 1 ? '' : 'es'} no module; the model's Linear modules are ${describeNames(linears.map((s) => s.name))}`, { key: 'target_modules' });
    }
  }
  const resolved: LoraConfig = { ...cfg, target_modules: targets, fan_in_fan_out: entries.some((e) => e.layout === 'in_out') };
  return { config: resolved, entries };
}

/** Carries out a plan (see planLora). */
export function applyLoraPlan(model: Module, plan: LoraPlan, { seed = 0, trainable = true }: ApplyLoraOptions = {}): LoraSummary {
  const cfg = plan.config;
  const rng = new Rng(seed);
  const slots = new Map(moduleSlots(model).map((s) => [s.name, s]));
  const lora = new Set<Tensor>();
  plan.entries.forEach((e, index) => {
    const slot = slots.get(e.name);
    if (!slot || !(slot.module instanceof Linear)) throw new Error(`applyLoraPlan: module '${e.name}' is not a Linear of this model`);
    const layer = new LoraLinear(slot.module, {
      r: e.r, alpha: e.alpha, dropout: cfg.lora_dropout, useRslora: cfg.use_rslora, init: cfg.init_lora_weights, rng,
      dropoutSeed: () => loraDropoutSeed(forwardDropoutSeed(), index),
    });
    layer.lora_A.weight.name = `${e.name}.lora_A.weight`;
    layer.lora_B.weight.name = `${e.name}.lora_B.weight`;
    for (const p of layer.loraParameters()) lora.add(p);
    (slot.parent as unknown as Record<string | number, unknown>)[slot.key] = layer;
  });
  const saved = new Set(modulesToSaveParameters(model, cfg).map(([, p]) => p));
  for (const p of model.parameters()) {
    p.requiresGrad = (lora.has(p) || saved.has(p)) && trainable;
    if (!p.requiresGrad) p.grad = null;
  }
  configs.set(model, cfg);
  return loraSummary(model);
}

/** Adapted modules and parameter counts (PEFT's print_trainable_parameters). */
export function loraSummary(model: Module): LoraSummary {
  const cfg = configs.get(model);
  if (!cfg) throw new GptuneError('the model has no LoRA adapter (applyLora or loadAdapter first)');
  return {
    config: cfg,
    adapted: loraModules(model).map(([n]) => n),
    trainableParams: model.numParameters(true),
    totalParams: model.numParameters(),
  };
}

/** PEFT's print_trainable_parameters line: "trainable params: 1,024 || all params: 9,000 || trainable%: 11.3778". */
export function formatLoraSummary(s: LoraSummary): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return `trainable params: ${n(s.trainableParams)} || all params: ${n(s.totalParams)} || trainable%: ${(100 * s.trainableParams / s.totalParams).toFixed(4)}`;
}

/** Every LoraLinear with its module name, in model order. */
export function loraModules(model: Module): Array<[string, LoraLinear]> {
  return model.namedModules().filter((e): e is [string, LoraLinear] => e[1] instanceof LoraLinear);
}

/** lora_A and lora_B of every adapted module (what the optimizer updates). */
export function loraParameters(model: Module): Tensor[] {
  return loraModules(model).flatMap(([, m]) => m.loraParameters());
}

/** Folds every adapter into its base weight (float32, refused on NaN/Inf); all or nothing. */
export function mergeLora(model: Module): void {
  const layers = loraModules(model);
  refuseTiedWeights(model, layers);
  const done: LoraLinear[] = [];
  try {
    for (const [, m] of layers) {
      if (m.merged) continue;
      m.merge();
      done.push(m);
    }
  } catch (e) {
    for (const m of done) m.unmerge();
    throw e;
  }
}

export function unmergeLora(model: Module): void {
  for (const [, m] of loraModules(model)) m.unmerge();
}

/**
 * Replaces every LoraLinear by a plain Linear holding W + delta (PEFT's merge_and_unload). Merges
 * in place and reuses the merged tensors, so no second copy of the weights is made; a broken
 * adapter (NaN/Inf) throws with the model unchanged.
 */
export function fuseLora(model: Module): string[] {
  mergeLora(model);
  const slots = moduleSlots(model).filter((s) => s.module instanceof LoraLinear);
  for (const s of slots) {
    const m = s.module as LoraLinear;
    const plain = new Linear(m.inFeatures, m.outFeatures, { bias: m.bias !== null, layout: m.layout });
    plain.weight = m.weight;
    plain.bias = m.bias;
    plain.training = m.training;
    (s.parent as unknown as Record<string | number, unknown>)[s.key] = plain;
  }
  configs.delete(model);
  return slots.map((s) => s.name);
}

/** Merging into a weight that another module also holds (a tied head) would change both: refuse. */
function refuseTiedWeights(model: Module, layers: Array<[string, LoraLinear]>): void {
  const holders = new Map<Tensor, number>();
  for (const [, m] of model.namedModules()) {
    for (const v of Object.values(m)) if (v instanceof Tensor) holders.set(v, (holders.get(v) ?? 0) + 1);
  }
  for (const [name, m] of layers) {
    if ((holders.get(m.weight) ?? 0) > 1) {
      throw new GptuneError(`cannot merge the adapter of '${name}': its weight is tied to another parameter, which merging would change too`);
    }
  }
}

// ---- module traversal and PEFT's matching rules ----

export interface Slot {
  name: string;
  module: Module;
  parent: Module | Module[];
  key: string | number;
}

/** Every submodule with the container and property that hold it (Module.namedModules' order and names). */
export function moduleSlots(model: Module): Slot[] {
  const out: Slot[] = [];
  const walk = (m: Module, prefix: string) => {
    for (const [key, value] of Object.entries(m)) {
      if (value instanceof Module) visit(value, prefix + key, m, key);
      else if (Array.isArray(value)) value.forEach((v, i) => { if (v instanceof Module) visit(v, `${prefix}${key}.${i}`, value, i); });
    }
  };
  const visit = (m: Module, name: string, parent: Module | Module[], key: string | number) => {
    out.push({ name, module: m, parent, key });
    if (!(m instanceof LoraLinear)) walk(m, name + '.'); // never adapt lora_A / lora_B themselves
  };
  walk(model, '');
  return out;
}

function fullMatch(pattern: string, name: string): boolean {
  return new RegExp(`^(?:${pattern})$`).test(name);
}

/** PEFT: a list entry matches the module of that exact name or any module whose name ends with '.' + entry. */
function listMatches(targets: readonly string[], name: string): string[] {
  return targets.filter((t) => name === t || name.endsWith('.' + t));
}

/**
 * A module that modules_to_save trains in full, or one inside it. One rule for both uses, PEFT's
 * _set_trainable test (the name ends with an entry: "classifier" also takes DistilBERT's pre_classifier):
 * PEFT 0.21 excludes targets by whole name components instead, so all-linear gives pre_classifier LoRA and
 * then fails to wrap it (test/fixtures/peft_targets); here such a module is only trained in full.
 */
function inModulesToSave(names: readonly string[] | null, name: string): boolean {
  if (!names?.length) return false;
  const parts = name.split('.');
  return parts.some((_, i) => { const prefix = parts.slice(0, i + 1).join('.'); return names.some((m) => prefix.endsWith(m)); });
}

function isIn(patterns: string[] | string | null, name: string): boolean {
  if (patterns === null) return false;
  return typeof patterns === 'string' ? fullMatch(patterns, name) : listMatches(patterns, name).length > 0;
}

/** PEFT's layers_to_transform: the layer index is the first number after layers_pattern (or any module list). */
function layerSelected(cfg: LoraConfig, targets: string[] | string, name: string): boolean {
  const want = cfg.layers_to_transform;
  if (typeof targets === 'string' || want === null || (Array.isArray(want) && want.length === 0)) return true;
  const patterns = cfg.layers_pattern === null || cfg.layers_pattern.length === 0 ? [null]
    : typeof cfg.layers_pattern === 'string' ? [cfg.layers_pattern] : cfg.layers_pattern;
  for (const p of patterns) {
    const m = new RegExp(p === null ? '^.*?\\.[^.]*\\.(\\d+)\\.' : `^.*?\\.${p}\\.(\\d+)\\.`).exec(name);
    if (m) {
      const index = Number(m[1]);
      return Array.isArray(want) ? want.includes(index) : want === index;
    }
  }
  return false;
}

/** Module names for an error message, with layer numbers folded ("transformer.h.*.attn.c_attn (12)") when long. */
function describeNames(names: string[]): string {
  if (names.length === 0) return '(none)';
  if (names.length <= 12) return names.join(', ');
  const groups = new Map<string, number>();
  for (const n of names) {
    const g = n.replace(/\.\d+(?=\.|$)/g, '.*');
    groups.set(g, (groups.get(g) ?? 0) + 1);
  }
  return [...groups].map(([g, c]) => (c > 1 ? `${g} (${c})` : g)).join(', ');
}

/**
 * The parameters of the modules in cfg.modules_to_save (inModulesToSave), trained in full and saved under
 * base_model.model.<parameter>, as PEFT saves them.
 */
export function modulesToSaveParameters(model: Module, cfg: Pick<LoraConfig, 'modules_to_save'>): Array<[string, Tensor]> {
  const names = cfg.modules_to_save ?? [];
  if (!names.length) return [];
  // A parameter belongs to the module its name holds before the last dot.
  return model.namedParameters().filter(([n]) => n.includes('.') && inModulesToSave(names, n.slice(0, n.lastIndexOf('.'))) && !/\.lora_[AB]\./.test(n));
}
