// One home for test temp folders: each is removed when the test file's process exits, pass or
// fail, so a full `npm test` leaves no `gptune-*` folders behind in the system temp dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

/** A fresh empty folder `<os tmpdir>/gptune-<prefix>XXXXXX`, removed (with its contents) at process exit. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `gptune-${prefix}`));
  if (made.length === 0) process.once('exit', removeAll);
  made.push(dir);
  return dir;
}

// 'exit' handlers must be synchronous; force: a test may already have removed its folder. A folder
// that cannot be removed is named on stderr rather than failing the tests that passed.
function removeAll(): void {
  for (const dir of made) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (e) {
      process.stderr.write(`test temp folder ${dir} not removed: ${(e as Error).message}\n`);
    }
  }
}
