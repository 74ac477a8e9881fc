// User-facing errors: one line that names the file, line, key or shape at fault, so a bad checkpoint
// or config is fixed from the message alone, without a stack trace.

export interface ErrorContext {
  file?: string;
  line?: number;
  key?: string;
}

export class GptuneError extends Error {
  override name = 'GptuneError';
  readonly file?: string;
  readonly line?: number;
  readonly key?: string;

  /** message is the plain fact ("expected an integer, got a string"); the context is prefixed to it. */
  constructor(message: string, ctx: ErrorContext = {}, options?: { cause?: unknown }) {
    super(formatMessage(message, ctx), options);
    this.file = ctx.file;
    this.line = ctx.line;
    this.key = ctx.key;
  }
}

function formatMessage(message: string, { file, line, key }: ErrorContext): string {
  let where = '';
  if (file !== undefined) where += line !== undefined ? `${file}:${line}: ` : `${file}: `;
  else if (line !== undefined) where += `line ${line}: `;
  if (key !== undefined) where += `'${key}': `;
  return (where + message).replace(/\s*\n\s*/g, ' ');
}

/** A mistake in how gptune was called (a missing or bad option): the CLI exits 2 for these, 1 for the rest. */
export class UsageError extends GptuneError {
  override name = 'UsageError';
}

/** Throws a GptuneError unless cond holds. */
export function check(cond: unknown, message: string | (() => string), ctx: ErrorContext = {}): asserts cond {
  if (!cond) throw new GptuneError(typeof message === 'function' ? message() : message, ctx);
}

/** "[2, 3]" */
export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** What a JSON value is, for "expected X, got <describe(v)>" messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return v.length <= 40 ? `the string ${JSON.stringify(v)}` : 'a string';
  if (typeof v === 'number') return Number.isInteger(v) ? `the integer ${v}` : `the number ${v}`;
  if (typeof v === 'boolean') return `${v}`;
  if (typeof v === 'object') return 'an object';
  return typeof v;
}

/** The message of any thrown value, for wrapping low-level errors (fs, JSON.parse). */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
