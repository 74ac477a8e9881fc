// How the CLI fails: one line on stderr naming what is wrong and a non-zero exit code (2 for a
// mistake in the call, 1 otherwise); the stack only with --verbose (or GPTUNE_VERBOSE=1).
import { UsageError } from '../util/errors.js';

export function reportError(e: unknown, verbose: boolean): number {
  const err = e instanceof Error ? e : new Error(String(e));
  const msg = err.message.split('\n')[0];
  process.stderr.write(`gptune: error: ${msg}\n`);
  if (verbose && err.stack) process.stderr.write(err.stack + '\n');
  else if (!(err instanceof UsageError)) process.stderr.write('(run with --verbose for the stack trace)\n');
  return err instanceof UsageError ? 2 : 1;
}
