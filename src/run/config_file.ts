// --config FILE: YAML or JSON holding options under their flag names (kebab-case, snake_case or
// camelCase). The values are checked by the same declarations as flags (src/run/option.ts).
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { UsageError } from '../util/errors.js';

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${path}: cannot read the config file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const json = /\.json$/i.test(path);
  let raw: unknown;
  try {
    raw = json ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new UsageError(`${path}: invalid ${json ? 'JSON' : 'YAML'} (${(e as Error).message.split('\n')[0]})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`${path}: the config must be a mapping of option names to values`);
  return raw as Record<string, unknown>;
}
