// Where gptune's own files are (the shipped model in assets/, the demo data in data/): the folder of
// the nearest package.json above this module, in a clone, a global install or node_modules alike.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}: gptune's files are not where it was installed`);
    dir = up;
  }
}

/** A path inside the package: packagePath('assets', 'base-model'). */
export function packagePath(...parts: string[]): string {
  return join(packageRoot(), ...parts);
}
