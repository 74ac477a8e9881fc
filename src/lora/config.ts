// LoraConfig with PEFT's field names and defaults (peft/tuners/lora/config.py), so an
// adapter_config.json reads and writes unchanged. Values gptune cannot reproduce are refused by name.
import { GptuneError, describe } from '../util/errors.js';

export interface LoraConfig {
  peft_type: 'LORA';
  task_type: string | null;
  /** Rank of lora_A [r, in] and lora_B [out, r]. */
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  /**
   * A list (a module matches an entry when its name equals it or ends with '.' + it), a string
   * (a regex that must match the whole module name), 'all-linear', or null (the model type's default).
   */
  target_modules: string[] | string | null;
  /** Same matching rules as target_modules; excluded modules are never adapted. */
  exclude_modules: string[] | string | null;
  /** True when the base layers are GPT-2 Conv1D ([in, out] weights); set from the model when applied. */
  fan_in_fan_out: boolean;
  bias: 'none';
  /** scaling = lora_alpha / sqrt(r) instead of lora_alpha / r. */
  use_rslora: boolean;
  use_dora: false;
  /**
   * Modules trained in full and saved with the adapter (PEFT's ModulesToSaveWrapper): a classifier head
   * under SEQ_CLS / TOKEN_CLS. Matched like a list target_modules.
   */
  modules_to_save: string[] | null;
  /** true: A kaiming-uniform, B zeros; 'gaussian': A ~ N(0, 1/r), B zeros; false: B random too. */
  init_lora_weights: boolean | 'gaussian';
  /** With a list target_modules: only these layer indices (the number after layers_pattern). */
  layers_to_transform: number[] | number | null;
  layers_pattern: string[] | string | null;
  /** Per-module rank / alpha overrides: key regex matched against the end of the module name. */
  rank_pattern: Record<string, number>;
  alpha_pattern: Record<string, number>;
  base_model_name_or_path: string | null;
  revision: string | null;
  inference_mode: boolean;
}

/** PEFT's defaults (LoraConfig dataclass). */
export const LORA_DEFAULTS: Readonly<LoraConfig> = Object.freeze({
  peft_type: 'LORA',
  task_type: 'CAUSAL_LM',
  r: 8,
  lora_alpha: 8,
  lora_dropout: 0.0,
  target_modules: null,
  exclude_modules: null,
  fan_in_fan_out: false,
  bias: 'none',
  use_rslora: false,
  use_dora: false,
  modules_to_save: null,
  init_lora_weights: true,
  layers_to_transform: null,
  layers_pattern: null,
  rank_pattern: {},
  alpha_pattern: {},
  base_model_name_or_path: null,
  revision: null,
  inference_mode: false,
});

/** PEFT's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING, for the model types gptune runs. */
export const DEFAULT_TARGET_MODULES: Readonly<Record<string, readonly string[]>> = {
  gpt2: ['c_attn'],
  llama: ['q_proj', 'v_proj'],
  mistral: ['q_proj', 'v_proj'],
  qwen2: ['q_proj', 'v_proj'],
  qwen3: ['q_proj', 'v_proj'],
  gemma3_text: ['q_proj', 'v_proj'],
  bert: ['query', 'value'],
  roberta: ['query', 'value'],
  // PEFT 0.21 has no entry for distilbert (get_peft_model needs target_modules); its query and value, as for BERT.
  distilbert: ['q_lin', 'v_lin'],
};

/** The heads PEFT puts in modules_to_save for a task type (PeftModelForSequenceClassification / ...TokenClassification). */
export const TASK_MODULES_TO_SAVE: Readonly<Record<string, readonly string[]>> = {
  SEQ_CLS: ['classifier', 'score'],
  TOKEN_CLS: ['classifier', 'score'],
};

/** PEFT's INCLUDE_LINEAR_LAYERS_SHORTHAND. */
export const ALL_LINEAR = 'all-linear';

/**
 * Settings that change the math in ways gptune does not implement, with the value that is fine.
 * Present with any other value -> refused by name (a silently wrong adapter is worse than none).
 */
const UNSUPPORTED: Array<[key: string, ok: (v: unknown) => boolean, why: string]> = [
  ['peft_type', (v) => v === 'LORA', 'only LoRA adapters (peft_type "LORA") are supported'],
  ['bias', (v) => v === 'none', 'only bias "none" is supported (PEFT\'s "all" / "lora_only" also train base biases)'],
  ['use_dora', (v) => v === false, 'DoRA (weight-decomposed LoRA) is not supported'],
  ['lora_bias', (v) => v === false, 'a bias on lora_B is not supported'],
  ['use_qalora', (v) => v === false, 'QA-LoRA is not supported'],
  ['modules_to_save', (v) => v === null || (Array.isArray(v) && v.every((x) => typeof x === 'string')), 'modules_to_save must be a list of module names'],
  ['trainable_token_indices', isEmpty, 'trainable_token_indices is not supported'],
  ['layer_replication', isEmpty, 'layer_replication is not supported'],
  ['target_parameters', isEmpty, 'target_parameters (LoRA on raw parameters) is not supported'],
  ['alora_invocation_tokens', isEmpty, 'activated LoRA (alora_invocation_tokens) is not supported'],
  ['use_bdlora', isEmpty, 'block-diagonal LoRA (use_bdlora) is not supported'],
  ['arrow_config', isEmpty, 'Arrow routing (arrow_config) is not supported'],
  ['kasa_config', isEmpty, 'KaSA (kasa_config) is not supported'],
  ['monteclora_config', isEmpty, 'MonteCLoRA (monteclora_config) is not supported'],
];

function isEmpty(v: unknown): boolean {
  return v === null || v === false || (Array.isArray(v) && v.length === 0) ||
    (typeof v === 'object' && v !== null && Object.keys(v).length === 0);
}

/**
 * A complete, checked LoraConfig from PEFT-style fields (an adapter_config.json object or a
 * partial config from the CLI). Unknown keys are ignored, as PEFT ignores them on load.
 */
export function loraConfig(raw: Partial<LoraConfig> | Record<string, unknown>, source = 'LoRA config'): LoraConfig {
  const r = raw as Record<string, unknown>;
  const fail = (key: string, msg: string): never => { throw new GptuneError(msg, { file: source, key }); };
  for (const [key, ok, why] of UNSUPPORTED) {
    if (key in r && r[key] !== undefined && !ok(r[key])) fail(key, `${why} (got ${JSON.stringify(r[key])})`);
  }
  const pick = <K extends keyof LoraConfig>(k: K): LoraConfig[K] => (r[k] === undefined ? structuredClone(LORA_DEFAULTS[k]) : r[k]) as LoraConfig[K];
  const cfg: LoraConfig = {
    peft_type: 'LORA',
    task_type: pick('task_type'),
    r: pick('r'),
    lora_alpha: pick('lora_alpha'),
    lora_dropout: pick('lora_dropout'),
    target_modules: pick('target_modules'),
    exclude_modules: pick('exclude_modules'),
    fan_in_fan_out: pick('fan_in_fan_out'),
    bias: 'none',
    use_rslora: pick('use_rslora'),
    use_dora: false,
    modules_to_save: pick('modules_to_save'),
    init_lora_weights: pick('init_lora_weights'),
    layers_to_transform: pick('layers_to_transform'),
    layers_pattern: pick('layers_pattern'),
    rank_pattern: pick('rank_pattern') ?? {},
    alpha_pattern: pick('alpha_pattern') ?? {},
    base_model_name_or_path: pick('base_model_name_or_path'),
    revision: pick('revision'),
    inference_mode: pick('inference_mode'),
  };

  const positiveInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;
  if (!positiveInt(cfg.r)) fail('r', `expected a positive integer, got ${describe(cfg.r)}`);
  if (!positive(cfg.lora_alpha)) fail('lora_alpha', `expected a positive number, got ${describe(cfg.lora_alpha)}`);
  if (!(typeof cfg.lora_dropout === 'number' && cfg.lora_dropout >= 0 && cfg.lora_dropout < 1)) {
    fail('lora_dropout', `expected a number in [0, 1), got ${describe(cfg.lora_dropout)}`);
  }
  for (const key of ['target_modules', 'exclude_modules'] as const) {
    const v = cfg[key];
    if (v !== null && typeof v !== 'string' && !(Array.isArray(v) && v.every((s) => typeof s === 'string'))) {
      fail(key, `expected a list of module names, a regex string or null, got ${describe(v)}`);
    }
    if (typeof v === 'string') checkRegex(v, source, key);
  }
  for (const key of ['fan_in_fan_out', 'use_rslora', 'inference_mode'] as const) {
    if (typeof cfg[key] !== 'boolean') fail(key, `expected true or false, got ${describe(cfg[key])}`);
  }
  if (cfg.init_lora_weights !== true && cfg.init_lora_weights !== false && cfg.init_lora_weights !== 'gaussian') {
    fail('init_lora_weights', `${JSON.stringify(cfg.init_lora_weights)} is not supported (true, false and "gaussian" are; ` +
      'PiSSA/OLoRA/CorDA/LoftQ change the base weights, EVA needs data)');
  }
  const ltt = cfg.layers_to_transform;
  if (ltt !== null && !Number.isInteger(ltt) && !(Array.isArray(ltt) && ltt.every((i) => Number.isInteger(i)))) {
    fail('layers_to_transform', `expected a layer index, a list of them or null, got ${describe(ltt)}`);
  }
  const lp = cfg.layers_pattern;
  if (lp !== null && typeof lp !== 'string' && !(Array.isArray(lp) && lp.every((s) => typeof s === 'string'))) {
    fail('layers_pattern', `expected a string, a list of strings or null, got ${describe(lp)}`);
  }
  if (typeof cfg.target_modules === 'string' && cfg.target_modules.toLowerCase() !== ALL_LINEAR && (!isEmpty(ltt) || !isEmpty(lp))) {
    fail('layers_to_transform', 'cannot be used when target_modules is a regex string (PEFT refuses this too)');
  }
  if (!isEmpty(lp) && isEmpty(ltt)) fail('layers_pattern', 'needs layers_to_transform');
  for (const key of ['rank_pattern', 'alpha_pattern'] as const) {
    const pat = cfg[key];
    if (typeof pat !== 'object' || pat === null || Array.isArray(pat)) fail(key, `expected an object of regex -> number, got ${describe(pat)}`);
    for (const [k, v] of Object.entries(pat)) {
      checkRegex(k, source, key);
      if (key === 'rank_pattern' ? !positiveInt(v) : !positive(v)) fail(key, `'${k}': expected a positive ${key === 'rank_pattern' ? 'integer' : 'number'}, got ${describe(v)}`);
    }
  }
  if (cfg.task_type !== null && typeof cfg.task_type !== 'string') fail('task_type', `expected a string, got ${describe(cfg.task_type)}`);
  return cfg;
}

function checkRegex(pattern: string, source: string, key: string): void {
  try {
    new RegExp(pattern);
  } catch (e) {
    throw new GptuneError(`${JSON.stringify(pattern)} is not a valid regular expression (${(e as Error).message})`, { file: source, key });
  }
}

/** PEFT's LoraLayer.update_layer: lora_alpha / r, or lora_alpha / sqrt(r) with use_rslora. */
export function loraScaling(alpha: number, r: number, useRslora: boolean): number {
  return useRslora ? alpha / Math.sqrt(r) : alpha / r;
}

/**
 * PEFT's get_pattern_key: the first pattern key that matches the end of the module name at a dot
 * boundary (re.match(rf"(.*\.)?({key})$", name)).
 */
export function patternValue(pattern: Record<string, number>, moduleName: string): number | undefined {
  for (const [key, value] of Object.entries(pattern)) {
    if (new RegExp(`^(.*\\.)?(${key})$`).test(moduleName)) return value;
  }
  return undefined;
}

/**
 * The adapter_config.json object PEFT writes (its field set as of PEFT 0.10-0.13, which every later
 * PEFT reads; newer-only fields are written only when set, so older PEFT versions can load the file).
 */
export function loraConfigToJson(cfg: LoraConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    alpha_pattern: cfg.alpha_pattern,
    auto_mapping: null,
    base_model_name_or_path: cfg.base_model_name_or_path,
    bias: cfg.bias,
    fan_in_fan_out: cfg.fan_in_fan_out,
    inference_mode: cfg.inference_mode,
    init_lora_weights: cfg.init_lora_weights,
    layer_replication: null,
    layers_pattern: cfg.layers_pattern,
    layers_to_transform: cfg.layers_to_transform,
    loftq_config: {},
    lora_alpha: cfg.lora_alpha,
    lora_dropout: cfg.lora_dropout,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: cfg.modules_to_save,
    peft_type: cfg.peft_type,
    r: cfg.r,
    rank_pattern: cfg.rank_pattern,
    revision: cfg.revision,
    target_modules: cfg.target_modules,
    task_type: cfg.task_type,
    use_dora: cfg.use_dora,
    use_rslora: cfg.use_rslora,
  };
  if (cfg.exclude_modules !== null) out.exclude_modules = cfg.exclude_modules;
  return out;
}
