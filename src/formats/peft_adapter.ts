// PEFT's adapter directory as bytes <-> named tensors: adapter_config.json (written the way PEFT's
// json.dumps(indent=2, sort_keys=True) writes it) and adapter_model.safetensors, whose keys are
// `base_model.model.<module>.lora_A.weight` / `.lora_B.weight` (PEFT drops the adapter name).
// No model imports: what the keys mean for a model is src/lora's business.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsFile, saveSafetensors, type Tensor as FileTensor } from './safetensors.js';
import { GptuneError } from '../util/errors.js';
import { writeFileAtomicSync } from '../util/fs_atomic.js';
import { readJsonObject } from '../util/json_file.js';

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';
/** PeftModel -> LoraModel -> the transformers model: the module path every saved key starts with. */
export const PEFT_KEY_PREFIX = 'base_model.model.';

export type LoraFactorName = 'lora_A' | 'lora_B';

export function peftKey(module: string, factor: LoraFactorName): string {
  return `${PEFT_KEY_PREFIX}${module}.${factor}.weight`;
}

/** `base_model.model.<module>.lora_A.weight` -> {module, factor}; null for any other key. */
export function parsePeftKey(key: string): { module: string; factor: LoraFactorName } | null {
  const m = /^base_model\.model\.(.+)\.(lora_A|lora_B)\.weight$/.exec(key);
  return m ? { module: m[1], factor: m[2] as LoraFactorName } : null;
}

/** adapter_config.json as a plain object (unknown keys kept; src/lora/config.ts interprets them). */
export function readAdapterConfig(dir: string): { path: string; raw: Record<string, unknown> } {
  const path = join(dir, ADAPTER_CONFIG_FILE);
  if (!existsSync(path)) throw new GptuneError(`no ${ADAPTER_CONFIG_FILE} (a PEFT adapter directory has ${ADAPTER_CONFIG_FILE} and ${ADAPTER_WEIGHTS_FILE})`, { file: dir });
  return { path, raw: readJsonObject(path) };
}

/** Opens adapter_model.safetensors (tensors read on demand); close() it when done. */
export function openAdapterWeights(dir: string): SafetensorsFile {
  const path = join(dir, ADAPTER_WEIGHTS_FILE);
  if (!existsSync(path)) {
    const bin = existsSync(join(dir, 'adapter_model.bin'));
    throw new GptuneError(bin
      ? `no ${ADAPTER_WEIGHTS_FILE}, only adapter_model.bin (a pickle, which gptune does not read): re-save the adapter with PEFT's safe_serialization=True`
      : `no ${ADAPTER_WEIGHTS_FILE}`, { file: dir });
  }
  return SafetensorsFile.open(path);
}

/**
 * Writes the two files of a PEFT adapter into dir (created if missing), each atomically: the
 * weights first, then the config, so a directory with a new config always has its weights.
 */
export function writeAdapterDir(dir: string, config: Record<string, unknown>, tensors: Array<[string, FileTensor]>): void {
  saveSafetensors(join(dir, ADAPTER_WEIGHTS_FILE), tensors, { format: 'pt' });
  writeFileAtomicSync(join(dir, ADAPTER_CONFIG_FILE), pythonJson(config, FLOAT_FIELDS));
}

/** LoraConfig fields typed `float` in PEFT: Python writes them with a decimal point (0.0, not 0). */
const FLOAT_FIELDS = new Set(['lora_dropout']);

/**
 * json.dumps(obj, indent=2, sort_keys=True) as Python writes it: ASCII-only strings, floats in
 * repr() form. Top-level keys in floatKeys are written as floats even when integral.
 */
export function pythonJson(obj: unknown, floatKeys: ReadonlySet<string> = new Set()): string {
  const write = (v: unknown, indent: string, asFloat: boolean): string => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'number') return asFloat || !Number.isInteger(v) ? pythonFloat(v) : String(v);
    if (typeof v === 'string') return pythonString(v);
    const inner = indent + '  ';
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      return `[\n${v.map((x) => inner + write(x, inner, false)).join(',\n')}\n${indent}]`;
    }
    const keys = Object.keys(v as object).sort(pythonKeyOrder);
    if (keys.length === 0) return '{}';
    const rec = v as Record<string, unknown>;
    return `{\n${keys.map((k) => `${inner}${pythonString(k)}: ${write(rec[k], inner, indent === '' && floatKeys.has(k))}`).join(',\n')}\n${indent}}`;
  };
  return write(obj, '', false);
}

// Python sorts str keys by code point; JS's default sort compares UTF-16 units (differs only beyond the BMP).
function pythonKeyOrder(a: string, b: string): number {
  const ca = [...a].map((c) => c.codePointAt(0)!), cb = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) if (ca[i] !== cb[i]) return ca[i] - cb[i];
  return ca.length - cb.length;
}

/** json.dumps's ensure_ascii string: JSON escapes, and \uXXXX for every non-ASCII UTF-16 unit. */
function pythonString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => (c === '\u007f' ? c : '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')));
}

/** Python's float repr: shortest round-trip digits, exponent form below 1e-4 and from 1e16. */
export function pythonFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const [mant, exp] = Math.abs(x).toExponential().split('e');
  const digits = mant.replace('.', '');
  const point = Number(exp) + 1; // digits d1 d2 ... with the decimal point after `point` of them
  if (point > -4 && point <= 16) {
    if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
    if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}.0`;
    return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
  }
  const e = point - 1;
  return `${sign}${digits[0]}${digits.length > 1 ? '.' + digits.slice(1) : ''}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}
