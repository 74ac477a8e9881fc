// Reading a file that must hold one JSON object (config.json, tokenizer.json, adapter_config.json ...),
// with errors that name the file.
import { readFileSync } from 'node:fs';
import { GptuneError, describe, errorMessage } from './errors.js';

/** Reads a file holding one JSON object; `what` names the expected content in the error. */
export function readJsonObject(path: string, what = 'a JSON object'): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new GptuneError(`cannot read: ${errorMessage(e)}`, { file: path });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new GptuneError(`expected ${what}, got ${describe(json)}`, { file: path });
  return json as Record<string, unknown>;
}
