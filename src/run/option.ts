// One declaration per option: its type, default (or the rule that decides it), help and checks.
// The CLI's flags, the --config file's checks, --help and the saved resolved config all derive
// from these, so a value is decided in one place whichever way it arrives.
import { UsageError } from '../util/errors.js';

export type OptionKind = 'int' | 'number' | 'string' | 'bool' | 'list';

export interface OptionDecl<T = unknown> {
  kind: OptionKind;
  help: string;
  /** The value when neither the flag nor the config file gives one. */
  default?: T;
  /** How the value is decided when it depends on other options (shown in --help instead of a default). */
  defaultRule?: string;
  /** Placeholder in --help: `--lr <x>`. */
  arg?: string;
  required?: boolean;
  /** A list option given as several words on the command line (`--stop a b`), not comma-separated. */
  variadic?: boolean;
  min?: number;
  /** The value must be above min, not equal to it: the range reads (min, max]. */
  minExclusive?: boolean;
  max?: number;
  /** The value must be one of these (string options). */
  choices?: readonly string[];
  /** Further checks: the problem as a phrase ("must be a multiple of 8"), or undefined when fine. */
  check?: (v: T) => string | undefined;
}

/** A table of declarations, keyed by the camelCase name (`loraR` is `--lora-r`). */
export type OptionTable = Record<string, OptionDecl<any>>;

/** The type an option's value has, from its kind (and its choices). */
type ValueOf<D> = D extends { choices: readonly (infer C)[] } ? C
  : D extends { kind: 'int' | 'number' } ? number
  : D extends { kind: 'bool' } ? boolean
  : D extends { kind: 'list' } ? string[]
  : string;

/** The resolved values of a table: options with a default, and required ones, are always set. */
export type OptionValues<D extends OptionTable> = {
  -readonly [K in keyof D]: D[K] extends { default: unknown } | { required: true } ? ValueOf<D[K]> : ValueOf<D[K]> | undefined;
};

type Common<T> = Omit<OptionDecl<T>, 'kind' | 'choices'>;

/** Declaration builders: the literal's own keys (default present or not) survive in the type. */
export const opt = {
  int: <O extends Common<number>>(o: O) => ({ kind: 'int' as const, arg: 'n', ...o }),
  number: <O extends Common<number>>(o: O) => ({ kind: 'number' as const, arg: 'x', ...o }),
  string: <O extends Common<string>>(o: O) => ({ kind: 'string' as const, arg: 'value', ...o }),
  bool: <O extends Common<boolean>>(o: O) => ({ kind: 'bool' as const, ...o }),
  list: <O extends Common<string[]>>(o: O) => ({ kind: 'list' as const, arg: 'list', ...o }),
  choice: <C extends string, O extends Common<NoInfer<C>>>(choices: readonly C[], o: O) => ({ kind: 'string' as const, arg: choices.join('|'), choices, ...o }),
};

/** `loraR` -> `lora-r` (flag and config-file spelling). */
export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** `lora-r` or `lora_r` -> `loraR`. */
export function camel(key: string): string {
  return key.replace(/[-_]([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Checks and converts one value, from a flag (always a string) or a config file (any JSON/YAML
 * value); `where` names it in the error ("--lr" or "run.yaml: 'lr'").
 */
export function coerceOption<T>(decl: OptionDecl<T>, raw: unknown, where: string): T {
  const fail = (want: string): never => {
    throw new UsageError(`${where} must be ${want}, got ${typeof raw === 'string' ? `'${raw}'` : JSON.stringify(raw)}`);
  };
  let v: unknown;
  switch (decl.kind) {
    case 'int':
    case 'number': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      const isInt = decl.kind === 'int';
      const range = decl.min !== undefined || decl.max !== undefined ? ` in ${decl.minExclusive ? '(' : '['}${decl.min ?? '-∞'}, ${decl.max ?? '∞'}]` : '';
      const want = `${isInt ? 'an integer' : 'a number'}${range}`;
      if (!Number.isFinite(n) || (isInt && !Number.isInteger(n))) fail(want);
      const below = decl.min !== undefined && (n < decl.min || (decl.minExclusive === true && n === decl.min));
      if (below || (decl.max !== undefined && n > decl.max)) fail(want);
      v = n;
      break;
    }
    case 'bool':
      if (typeof raw === 'boolean') v = raw;
      else if (raw === 'true' || raw === 'false') v = raw === 'true';
      else fail('true or false');
      break;
    case 'string':
      if (typeof raw !== 'string') fail(decl.choices ? `one of ${decl.choices.join(', ')}` : 'a string');
      if (decl.choices && !decl.choices.includes(raw as string)) fail(`one of ${decl.choices.join(', ')}`);
      v = raw;
      break;
    case 'list':
      if (typeof raw === 'string') v = raw.split(',').map((s) => s.trim()).filter(Boolean);
      else if (Array.isArray(raw) && raw.every((x) => typeof x === 'string')) v = raw;
      else fail('a comma-separated list or a list of strings');
      break;
  }
  const problem = decl.check?.(v as T);
  if (problem) throw new UsageError(`${where} ${problem}, got ${JSON.stringify(v)}`);
  return v as T;
}

/** The help line: text, then the default or the rule that decides it. */
export function helpText(decl: OptionDecl): string {
  const def = decl.defaultRule ?? (decl.default === undefined || decl.kind === 'bool' ? undefined : Array.isArray(decl.default) ? decl.default.join(',') : String(decl.default));
  return def === undefined ? decl.help : `${decl.help} (default: ${def})`;
}

/** Where each resolved value came from (kept beside the values in the saved config). */
export type Sources = Record<string, 'default' | 'config' | 'flag' | 'preset'>;

/**
 * defaults <- preset <- config file <- flags, each checked by its declaration.
 * `file` holds the config file's entries (any spelling of the names), `fileName` names it in errors;
 * `flags` holds what the user typed, as raw strings (booleans for switches).
 */
export function resolveOptions<D extends OptionTable>(table: D, input: {
  preset?: Partial<OptionValues<D>>;
  file?: Record<string, unknown>;
  fileName?: string;
  flags?: Record<string, unknown>;
}): { values: OptionValues<D>; sources: Sources } {
  const values: Record<string, unknown> = {};
  const sources: Sources = {};
  for (const [name, decl] of Object.entries(table)) {
    if (decl.default !== undefined) {
      values[name] = decl.default;
      sources[name] = 'default';
    }
  }
  for (const [name, v] of Object.entries(input.preset ?? {})) {
    if (!(name in table)) throw new Error(`preset sets unknown option '${name}'`);
    if (v === undefined) continue;
    values[name] = coerceOption(table[name], v, `preset '${name}'`);
    sources[name] = 'preset';
  }
  for (const [key, v] of Object.entries(input.file ?? {})) {
    const name = camel(key);
    const where = `${input.fileName ?? 'config'}: '${key}'`;
    if (!(name in table)) throw new UsageError(`${input.fileName ?? 'config'}: unknown option '${key}'${nearest(name, Object.keys(table))}`);
    if (v === null) continue;
    values[name] = coerceOption(table[name], v, where);
    sources[name] = 'config';
  }
  for (const [name, v] of Object.entries(input.flags ?? {})) {
    if (!(name in table)) throw new Error(`unknown flag '${name}'`);
    if (v === undefined) continue;
    values[name] = coerceOption(table[name], v, `--${kebab(name)}`);
    sources[name] = 'flag';
  }
  for (const [name, decl] of Object.entries(table)) {
    if (decl.required && values[name] === undefined) throw new UsageError(`--${kebab(name)} is required${input.fileName ? ` (as a flag or in ${input.fileName})` : ''}`);
  }
  return { values: values as OptionValues<D>, sources };
}

function nearest(name: string, names: string[]): string {
  const k = kebab(name);
  const hit = names.map(kebab).find((n) => n.startsWith(k.slice(0, 4)) || k.startsWith(n.slice(0, 4)));
  return hit ? ` (did you mean '${hit}'?)` : '';
}
