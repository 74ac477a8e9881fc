// Typed readers for the JSON files beside a Hugging Face model: config.json, generation_config.json
// and tokenizer_config.json. Unknown fields are kept (a re-saved file round-trips); a required field
// that is missing or of the wrong type is an error naming the file and key.
import { readJsonObject } from '../util/json_file.js';
import { GptuneError, describe } from '../util/errors.js';


const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** A JSON object with accessors that name the file and key when a value is missing or mistyped. */
export class ConfigReader {
  constructor(readonly raw: Record<string, unknown>, readonly file: string) {}

  static read(path: string): ConfigReader {
    return new ConfigReader(readJsonObject(path), path);
  }

  has(key: string): boolean {
    return this.raw[key] !== undefined;
  }

  private fail(key: string, want: string): never {
    const v = this.raw[key];
    throw new GptuneError(v === undefined ? `missing (expected ${want})` : `expected ${want}, got ${describe(v)}`, { file: this.file, key });
  }

  /** The value of key as an integer; required unless a default is given. null counts as absent. */
  int(key: string, def?: number): number {
    const v = this.raw[key];
    if (v == null && def !== undefined) return def;
    return isInt(v) ? v : this.fail(key, 'an integer');
  }

  number(key: string, def?: number): number {
    const v = this.raw[key];
    if (v == null && def !== undefined) return def;
    return typeof v === 'number' && Number.isFinite(v) ? v : this.fail(key, 'a number');
  }

  string(key: string, def?: string): string {
    const v = this.raw[key];
    if (v == null && def !== undefined) return def;
    return typeof v === 'string' ? v : this.fail(key, 'a string');
  }

  bool(key: string, def?: boolean): boolean {
    const v = this.raw[key];
    if (v == null && def !== undefined) return def;
    return typeof v === 'boolean' ? v : this.fail(key, 'true or false');
  }

  optInt(key: string): number | undefined { return this.raw[key] == null ? undefined : this.int(key); }
  optNumber(key: string): number | undefined { return this.raw[key] == null ? undefined : this.number(key); }
  optString(key: string): string | undefined { return this.raw[key] == null ? undefined : this.string(key); }
  optBool(key: string): boolean | undefined { return this.raw[key] == null ? undefined : this.bool(key); }

  /** An integer or a list of integers (eos_token_id); [] when absent or null. */
  intList(key: string): number[] {
    const v = this.raw[key];
    if (v == null) return [];
    if (isInt(v)) return [v];
    if (Array.isArray(v) && v.every(isInt)) return v as number[];
    return this.fail(key, 'an integer or a list of integers');
  }

  /** A list of strings; [] when absent. */
  stringList(key: string): string[] {
    const v = this.raw[key];
    if (v == null) return [];
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    return this.fail(key, 'a list of strings');
  }
}

// ---- config.json ----

/** RoPE as transformers 5 resolves it (`rope_parameters`), whichever layout the file used. */
export type RopeParameters =
  | { rope_type: 'default'; rope_theta: number }
  | { rope_type: 'linear'; rope_theta: number; factor: number }
  | { rope_type: 'dynamic'; rope_theta: number; factor: number }
  | { rope_type: 'llama3'; rope_theta: number; factor: number; low_freq_factor: number; high_freq_factor: number; original_max_position_embeddings: number }
  | {
    rope_type: 'yarn'; rope_theta: number; factor: number; original_max_position_embeddings: number;
    beta_fast: number; beta_slow: number; mscale?: number; mscale_all_dim?: number; attention_factor?: number; truncate: boolean;
  };

export const ROPE_TYPES = ['default', 'linear', 'dynamic', 'llama3', 'yarn'] as const;

/** The dtype the weights were saved in, and the key that said so (`dtype` in transformers 5, `torch_dtype` before). */
export interface StoredDtype {
  value: string | undefined;
  key: 'dtype' | 'torch_dtype';
}

/** config.json: model_type is required; each architecture reads its fields through the accessors. */
export class ModelConfig extends ConfigReader {
  get modelType(): string { return this.string('model_type'); }
  get architectures(): string[] { return this.stringList('architectures'); }
  get vocabSize(): number { return this.int('vocab_size'); }
  /** eos_token_id as a list (it may be an int or a list). */
  get eosTokenIds(): number[] { return this.intList('eos_token_id'); }
  get bosTokenId(): number | null { return this.optInt('bos_token_id') ?? null; }
  get tieWordEmbeddings(): boolean { return this.bool('tie_word_embeddings', true); }

  /** transformers 5 reads `dtype` first, then the legacy `torch_dtype` (configuration_utils.py). */
  get storedDtype(): StoredDtype {
    if (this.raw.dtype != null) return { value: this.string('dtype'), key: 'dtype' };
    if (this.raw.torch_dtype != null) return { value: this.string('torch_dtype'), key: 'torch_dtype' };
    // Neither key: a file written by transformers 5 (it says so in transformers_version) gets `dtype`.
    const v5 = /^([5-9]|\d\d)\./.test(String(this.raw.transformers_version ?? '')) || 'rope_parameters' in this.raw;
    return { value: undefined, key: v5 ? 'dtype' : 'torch_dtype' };
  }

  /** An error naming this file and key: a field whose value gptune does not implement. */
  refuse(key: string, why: string): never {
    throw new GptuneError(`${JSON.stringify(this.raw[key])} is not supported (${why})`, { file: this.file, key });
  }

  /** Refuses key when it is present and not one of the values that leave the math as gptune computes it. */
  refuseUnless(key: string, ok: (v: unknown) => boolean, why: string): void {
    const v = this.raw[key];
    if (v !== undefined && !ok(v)) this.refuse(key, why);
  }

  /**
   * RoPE parameters as transformers 5 standardizes them (modeling_rope_utils.py,
   * RotaryEmbeddingConfigMixin.convert_rope_params_to_dict): a legacy `rope_scaling` replaces
   * `rope_parameters`; `rope_theta` inside wins over the top-level key, which wins over the
   * architecture's default; `type` is the legacy name of `rope_type`.
   */
  ropeParameters(defaultTheta: number): RopeParameters {
    const scaling = this.raw.rope_scaling;
    const params = this.raw.rope_parameters;
    const key = scaling != null && (typeof scaling !== 'object' || Object.keys(scaling).length > 0) ? 'rope_scaling' : 'rope_parameters';
    const v = key === 'rope_scaling' ? scaling : params;
    if (v != null && (typeof v !== 'object' || Array.isArray(v))) throw new GptuneError(`expected an object, got ${describe(v)}`, { file: this.file, key });
    const obj = { ...(v as Record<string, unknown> | null ?? {}) };
    if (obj.rope_theta == null) obj.rope_theta = this.raw.rope_theta ?? defaultTheta;
    if (obj.partial_rotary_factor == null && this.raw.partial_rotary_factor != null) obj.partial_rotary_factor = this.raw.partial_rotary_factor;
    return parseRope(obj, this.file, key, this.optInt('max_position_embeddings'));
  }

  /**
   * Per-layer-type RoPE (Gemma 3): transformers 5 writes `rope_parameters: {sliding_attention: {...},
   * full_attention: {...}}`; 4.x wrote `rope_theta` + `rope_scaling` for full attention and
   * `rope_local_base_freq` (default rope) for sliding layers.
   */
  ropeParametersPerLayerType(layerTypes: string[], defaults: Record<string, number>, legacyThetaKeys: Record<string, string> = {}): Record<string, RopeParameters> {
    const params = this.raw.rope_parameters;
    const out: Record<string, RopeParameters> = {};
    const isPerType = params != null && typeof params === 'object' && !Array.isArray(params)
      && layerTypes.some((t) => t in (params as Record<string, unknown>));
    for (const t of new Set(layerTypes)) {
      if (isPerType) {
        const v = (params as Record<string, unknown>)[t];
        if (v == null || typeof v !== 'object' || Array.isArray(v)) throw new GptuneError(`expected an object for layer type '${t}', got ${describe(v)}`, { file: this.file, key: 'rope_parameters' });
        const obj = { ...(v as Record<string, unknown>) };
        if (obj.rope_theta == null) obj.rope_theta = defaults[t];
        out[t] = parseRope(obj, this.file, `rope_parameters.${t}`, this.optInt('max_position_embeddings'));
      } else if (legacyThetaKeys[t]) {
        out[t] = { rope_type: 'default', rope_theta: this.number(legacyThetaKeys[t], defaults[t]) };
      } else {
        out[t] = this.ropeParameters(defaults[t]);
      }
    }
    return out;
  }
}

function parseRope(obj: Record<string, unknown>, file: string, key: string, maxPositions: number | undefined): RopeParameters {
  const r = new ConfigReader(obj, `${file}: '${key}'`);
  const type = r.optString('rope_type') ?? r.optString('type') ?? 'default';
  const prf = r.optNumber('partial_rotary_factor');
  if (prf !== undefined && prf !== 1) throw new GptuneError(`partial_rotary_factor ${prf} is not supported (rotary over the whole head only)`, { file, key });
  const rope_theta = r.number('rope_theta');
  switch (type) {
    case 'default': return { rope_type: 'default', rope_theta };
    case 'linear': return { rope_type: 'linear', rope_theta, factor: r.number('factor') };
    case 'dynamic': return { rope_type: 'dynamic', rope_theta, factor: r.number('factor') };
    case 'llama3': return {
      rope_type: 'llama3', rope_theta, factor: r.number('factor'), low_freq_factor: r.number('low_freq_factor'),
      high_freq_factor: r.number('high_freq_factor'), original_max_position_embeddings: r.int('original_max_position_embeddings'),
    };
    case 'yarn': {
      // transformers: original_max_position_embeddings falls back to max_position_embeddings / factor's base.
      const orig = r.optInt('original_max_position_embeddings') ?? maxPositions;
      if (orig === undefined) r.int('original_max_position_embeddings');
      return {
        rope_type: 'yarn', rope_theta, factor: r.number('factor'), original_max_position_embeddings: orig!,
        beta_fast: r.optNumber('beta_fast') || 32, beta_slow: r.optNumber('beta_slow') || 1,
        mscale: r.optNumber('mscale'), mscale_all_dim: r.optNumber('mscale_all_dim'), attention_factor: r.optNumber('attention_factor'),
        truncate: r.bool('truncate', true),
      };
    }
    default:
      throw new GptuneError(`rope_type '${type}' is not supported (supported: ${ROPE_TYPES.join(', ')})`, { file, key });
  }
}

export function readModelConfig(path: string): ModelConfig {
  return new ModelConfig(readJsonObject(path), path);
}

/**
 * config.json as gptune saves it: the base's keys and layout kept, the saved dtype recorded under
 * the key the base used (`dtype` for transformers 5 files, `torch_dtype` before).
 */
export function configToSave(raw: Record<string, unknown>, dtype: 'F32' | 'F16' | 'BF16', file = 'config.json'): Record<string, unknown> {
  const name = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[dtype];
  const { key } = new ModelConfig(raw, file).storedDtype;
  return { ...raw, [key]: name };
}

// ---- generation_config.json ----

export interface GenerationConfig {
  /** eos_token_id as a list: transformers accepts an int or a list. */
  eosTokenIds: number[];
  bosTokenId: number | null;
  padTokenId: number | null;
  maxLength?: number;
  maxNewTokens?: number;
  doSample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
  /** The file as read, unknown fields included. */
  raw: Record<string, unknown>;
}

export function parseGenerationConfig(raw: Record<string, unknown>, file = 'generation_config.json'): GenerationConfig {
  const r = new ConfigReader(raw, file);
  const g: GenerationConfig = {
    eosTokenIds: r.intList('eos_token_id'),
    bosTokenId: r.optInt('bos_token_id') ?? null,
    padTokenId: r.optInt('pad_token_id') ?? null,
    maxLength: r.optInt('max_length'),
    maxNewTokens: r.optInt('max_new_tokens'),
    doSample: r.optBool('do_sample'),
    temperature: r.optNumber('temperature'),
    topK: r.optInt('top_k'),
    topP: r.optNumber('top_p'),
    repetitionPenalty: r.optNumber('repetition_penalty'),
    raw,
  };
  const range = (key: string, v: number | undefined, ok: (x: number) => boolean, want: string) => {
    if (v !== undefined && !ok(v)) throw new GptuneError(`expected ${want}, got ${v}`, { file, key });
  };
  range('temperature', g.temperature, (x) => x >= 0, 'a number >= 0');
  range('top_k', g.topK, (x) => x >= 0, 'an integer >= 0');
  range('top_p', g.topP, (x) => x > 0 && x <= 1, 'a number in (0, 1]');
  range('repetition_penalty', g.repetitionPenalty, (x) => x > 0, 'a number > 0');
  range('max_length', g.maxLength, (x) => x > 0, 'an integer > 0');
  range('max_new_tokens', g.maxNewTokens, (x) => x > 0, 'an integer > 0');
  return g;
}

export function readGenerationConfig(path: string): GenerationConfig {
  return parseGenerationConfig(readJsonObject(path), path);
}

// ---- tokenizer_config.json ----

export interface NamedTemplate {
  name: string;
  template: string;
}

export interface TokenizerConfig {
  /** undefined when the file does not say (the tokenizer's post-processor then decides). */
  addBosToken?: boolean;
  addEosToken?: boolean;
  /** A token's content; null when the file sets it to null, undefined when absent. */
  bosToken?: string | null;
  eosToken?: string | null;
  padToken?: string | null;
  unkToken?: string | null;
  /** chat_template: one string, or a list of {name, template}. */
  chatTemplate: string | NamedTemplate[] | null;
  modelMaxLength?: number;
  tokenizerClass?: string;
  cleanUpTokenizationSpaces?: boolean;
  raw: Record<string, unknown>;
}

export function parseTokenizerConfig(raw: Record<string, unknown>, file = 'tokenizer_config.json'): TokenizerConfig {
  const r = new ConfigReader(raw, file);
  // A special token is written as a string or as an AddedToken object {"content": ..., ...}.
  const token = (key: string): string | null | undefined => {
    const v = raw[key];
    if (v === undefined || v === null || typeof v === 'string') return v as string | null | undefined;
    if (typeof v === 'object' && !Array.isArray(v) && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
    throw new GptuneError(`expected a string or {"content": ...}, got ${describe(v)}`, { file, key });
  };
  let chatTemplate: string | NamedTemplate[] | null = null;
  const ct = raw.chat_template;
  if (typeof ct === 'string') chatTemplate = ct;
  else if (Array.isArray(ct)) {
    chatTemplate = ct.map((x, i): NamedTemplate => {
      const ok = x && typeof x === 'object' && typeof (x as NamedTemplate).name === 'string' && typeof (x as NamedTemplate).template === 'string';
      if (!ok) throw new GptuneError(`entry ${i}: expected {"name": ..., "template": ...}, got ${describe(x)}`, { file, key: 'chat_template' });
      return { name: (x as NamedTemplate).name, template: (x as NamedTemplate).template };
    });
  } else if (ct != null) throw new GptuneError(`expected a string or a list of {"name", "template"}, got ${describe(ct)}`, { file, key: 'chat_template' });
  return {
    addBosToken: r.optBool('add_bos_token'),
    addEosToken: r.optBool('add_eos_token'),
    bosToken: token('bos_token'),
    eosToken: token('eos_token'),
    padToken: token('pad_token'),
    unkToken: token('unk_token'),
    chatTemplate,
    modelMaxLength: r.optNumber('model_max_length'),
    tokenizerClass: r.optString('tokenizer_class'),
    cleanUpTokenizationSpaces: r.optBool('clean_up_tokenization_spaces'),
    raw,
  };
}

export function readTokenizerConfig(path: string): TokenizerConfig {
  return parseTokenizerConfig(readJsonObject(path), path);
}

/**
 * The chat template to use: the string, or from a list the one named `name` (default 'default').
 * null when there is none; an error naming the available names when `name` is not among them.
 */
export function selectChatTemplate(cfg: Pick<TokenizerConfig, 'chatTemplate'>, name = 'default', file = 'tokenizer_config.json'): string | null {
  const t = cfg.chatTemplate;
  if (t === null || typeof t === 'string') return t;
  const hit = t.find((x) => x.name === name);
  if (!hit) throw new GptuneError(`no template named '${name}' (the file has ${t.map((x) => `'${x.name}'`).join(', ')})`, { file, key: 'chat_template' });
  return hit.template;
}
