// Bad-input tests: the error is a GptuneError naming the file (and line) at fault.
import assert from 'node:assert/strict';
import { GptuneError } from '../../src/util/errors.js';

/** Asserts fn throws a GptuneError at file:line whose message matches re. */
export function throwsAt(fn: () => unknown, file: string, line: number | undefined, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof GptuneError, `expected a GptuneError, got ${e}`);
    assert.equal(e.file, file);
    assert.equal(e.line, line);
    assert.match(e.message, re);
    assert.ok(e.message.startsWith(line === undefined ? `${file}: ` : `${file}:${line}: `), e.message);
    return true;
  });
}
