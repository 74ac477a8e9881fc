// Runs every compiled test file (dist/test/**/*.test.js) with Node's built-in test runner.
// Node 20's --test takes no globs, so the files are listed here; extra args filter by path.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = 'dist/test';
const filters = process.argv.slice(2);
const files = readdirSync(root, { recursive: true })
  .map((f) => join(root, String(f)))
  .filter((f) => f.endsWith('.test.js'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no test files under ${root} match ${filters.join(' ') || '*'}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
