// The studio's forms come from the same option declarations as the CLI (src/run/option.ts): the page
// is sent each declaration's type, default, help and range, and what it sends back is checked by
// coerceOption, so a form field and its flag can never disagree. Errors are keyed by option name.
import { coerceOption, helpText, kebab, type OptionTable } from '../../run/option.js';
import { errorMessage } from '../../util/errors.js';

/** One form field: what the page needs to draw an input for a declaration. */
export interface FieldSchema {
  name: string;
  flag: string;
  kind: string;
  help: string;
  default?: unknown;
  defaultRule?: string;
  choices?: readonly string[];
  min?: number;
  max?: number;
  required?: boolean;
}

/** The declarations of table as form fields, in declaration order, without the names in omit. */
export function formSchema(table: OptionTable, omit: readonly string[] = []): FieldSchema[] {
  return Object.entries(table).filter(([name]) => !omit.includes(name)).map(([name, d]) => ({
    name, flag: `--${kebab(name)}`, kind: d.kind, help: helpText(d), default: d.default, defaultRule: d.defaultRule,
    choices: d.choices, min: d.min, max: d.max, required: d.required,
  }));
}

/**
 * Checks the fields the page sent (raw strings or booleans; empty strings mean "not given") against
 * the declarations; returns the values given and, per option name, what is wrong.
 */
export function readForm(table: OptionTable, fields: Record<string, unknown>, omit: readonly string[] = []): { values: Record<string, unknown>; errors: Record<string, string> } {
  const values: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const [name, raw] of Object.entries(fields)) {
    const decl = table[name];
    if (!decl || omit.includes(name)) { errors[name] = `unknown option '${name}'`; continue; }
    if (raw === undefined || raw === null || raw === '') continue;
    try { values[name] = coerceOption(decl, raw, `--${kebab(name)}`); } catch (e) { errors[name] = errorMessage(e); }
  }
  for (const [name, decl] of Object.entries(table)) {
    if (decl.required && !omit.includes(name) && values[name] === undefined && !errors[name]) errors[name] = `--${kebab(name)} is required`;
  }
  return { values, errors };
}

/** The command-line words for values, in declaration order: only those that differ from their default, switches as --x / --no-x. */
export function toArgs(table: OptionTable, values: Record<string, unknown>): string[] {
  const args: string[] = [];
  for (const [name, decl] of Object.entries(table)) {
    const v = values[name];
    if (v === undefined || v === null) continue;
    if (decl.kind === 'bool') {
      if (v !== (decl.default ?? false)) args.push(v ? `--${kebab(name)}` : `--no-${kebab(name)}`);
      continue;
    }
    if (decl.default !== undefined && JSON.stringify(v) === JSON.stringify(decl.default)) continue;
    args.push(`--${kebab(name)}`, Array.isArray(v) ? v.join(',') : String(v));
  }
  return args;
}
