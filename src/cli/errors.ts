// How the CLI fails: one line on stderr naming what is wrong and a non-zero exit code; the stack
// only with --verbose (or GPTUNE_VERBOSE=1).

export class UsageError extends Error {
  override name = 'UsageError';
}

export function reportError(e: unknown, verbose: boolean): number {
  const err = e instanceof Error ? e : new Error(String(e));
  const msg = err.message.split('\n')[0];
  process.stderr.write(`gptune: error: ${msg}\n`);
  if (verbose && err.stack) process.stderr.write(err.stack + '\n');
  else if (!(err instanceof UsageError)) process.stderr.write('(run with --verbose for the stack trace)\n');
  return err instanceof UsageError ? 2 : 1;
}

/** Parses a number option, naming the flag when it is not one. */
export function num(flag: string, { int = false, min = -Infinity, max = Infinity } = {}) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || (int && !Number.isInteger(n)) || n < min || n > max) {
      const range = min > -Infinity || max < Infinity ? ` in [${min}, ${max === Infinity ? '∞' : max}]` : '';
      throw new UsageError(`${flag} must be ${int ? 'an integer' : 'a number'}${range}, got '${v}'`);
    }
    return n;
  };
}
