// Commander <-> option declarations (src/run/option.ts): each declaration becomes a flag with its
// help, and the values the user typed come back as raw strings for the declarations to check.
import type { Command } from 'commander';
import { helpText, kebab, resolveOptions, type OptionTable, type OptionValues, type Sources } from '../run/option.js';
import { readConfigFile } from '../run/config_file.js';

/** Adds a flag per declaration (`--no-x` for switches that default to on) and, with `config`, --config FILE. */
export function addOptions(cmd: Command, table: OptionTable, { config = false } = {}): Command {
  if (config) cmd.option('--config <file>', 'YAML or JSON with the options below, under the same names (flags win)');
  for (const [name, decl] of Object.entries(table)) {
    const flag = kebab(name);
    const help = helpText(decl) + (decl.required ? ' [required]' : '');
    if (decl.kind === 'bool') cmd.option(decl.default === true ? `--no-${flag}` : `--${flag}`, help);
    else cmd.option(`--${flag} <${decl.arg ?? 'value'}${decl.variadic ? '...' : ''}>`, help);
  }
  return cmd;
}

/** The values the user typed (not commander's implicit defaults), keyed by option name. */
export function typedFlags(cmd: Command, table: OptionTable): Record<string, unknown> {
  const all = cmd.opts();
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(table)) if (cmd.getOptionValueSource(name) === 'cli') out[name] = all[name];
  return out;
}

/** defaults <- preset <- --config file <- flags, checked by the declarations. */
export function readOptions<D extends OptionTable>(cmd: Command, table: D, preset?: Partial<OptionValues<D>>): { values: OptionValues<D>; sources: Sources } {
  const configFile = cmd.opts().config as string | undefined;
  return resolveOptions(table, {
    preset,
    file: configFile !== undefined ? readConfigFile(configFile) : undefined,
    fileName: configFile,
    flags: typedFlags(cmd, table),
  });
}
