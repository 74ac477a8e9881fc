// Run configuration: defaults <- --config file (YAML or JSON, same names as the flags) <- flags.
// The resolved configuration is printed with --verbose and saved with each checkpoint.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

/** Reads a YAML/JSON config file into flag-named options (kebab-case or camelCase keys). */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read the config file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new Error(`${path}: invalid ${path.endsWith('.json') ? 'JSON' : 'YAML'} (${(e as Error).message.split('\n')[0]})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${path}: the config must be a mapping of option names to values`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) out[camel(k)] = v;
  return out;
}

export function camel(key: string): string {
  return key.replace(/[-_]([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Merges: values given on the command line win over the config file, which wins over defaults.
 * `given` lists the option names the user typed (commander's getOptionValueSource === 'cli').
 */
export function resolveOptions<T extends Record<string, unknown>>(defaults: T, file: Record<string, unknown>, flags: Record<string, unknown>, given: Set<string>, source = 'config'): T {
  const out: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(file)) {
    if (!(k in defaults) && !(k in flags)) throw new Error(`${source}: unknown option '${k}'`);
    out[k] = v;
  }
  for (const [k, v] of Object.entries(flags)) if (given.has(k) || !(k in file)) if (v !== undefined) out[k] = v;
  return out as T;
}
