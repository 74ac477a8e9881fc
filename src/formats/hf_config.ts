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

/** config.json: model_type is required; everything else is read by each architecture through the accessors. */
export class ModelConfig extends ConfigReader {
  get modelType(): string { return this.string('model_type'); }
  get architectures(): string[] { return this.stringList('architectures'); }
  get vocabSize(): number { return this.int('vocab_size'); }
  /** eos_token_id as a list (it may be an int or a list). */
  get eosTokenIds(): number[] { return this.intList('eos_token_id'); }
  get bosTokenId(): number | null { return this.optInt('bos_token_id') ?? null; }
  get tieWordEmbeddings(): boolean { return this.bool('tie_word_embeddings', true); }
  get torchDtype(): string | undefined { return this.optString('torch_dtype'); }
}

export function readModelConfig(path: string): ModelConfig {
  return new ModelConfig(readJsonObject(path), path);
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
