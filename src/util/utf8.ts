// Text files must be UTF-8: an invalid byte is an error naming the file and its byte offset, not a
// U+FFFD trained on silently. Checked chunk by chunk as files stream in.
import { isUtf8 } from 'node:buffer';
import { GptuneError } from './errors.js';

/** Validates a byte stream pushed in chunks; a sequence split across chunks is carried over. */
export class Utf8Check {
  private carry: Uint8Array = new Uint8Array(0);
  private offset = 0; // file offset of carry[0]
  constructor(private readonly file: string) {}

  push(chunk: Uint8Array): void {
    const bytes = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const cut = incompleteTail(bytes);
    const body = bytes.subarray(0, cut);
    if (!isUtf8(body)) this.fail(this.offset + firstInvalid(body));
    this.offset += cut;
    this.carry = Uint8Array.from(bytes.subarray(cut));
  }

  end(): void {
    if (this.carry.length) this.fail(this.offset, 'a truncated multi-byte sequence at the end');
  }

  private fail(at: number, detail?: string): never {
    throw new GptuneError(`invalid UTF-8 at byte offset ${at}${detail ? ` (${detail})` : ''}: save the file as UTF-8`, { file: this.file });
  }
}

/** Throws naming file and offset unless bytes are valid UTF-8. */
export function checkUtf8(bytes: Uint8Array, file: string): void {
  const c = new Utf8Check(file);
  c.push(bytes);
  c.end();
}

// Where a multi-byte sequence starts that the chunk's end cuts short (bytes.length if none).
function incompleteTail(b: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, b.length); back++) {
    const c = b[b.length - back];
    if ((c & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return need > back ? b.length - back : b.length;
  }
  return b.length;
}

// The offset of the first byte that does not start a well-formed sequence (RFC 3629).
function firstInvalid(b: Uint8Array): number {
  for (let i = 0; i < b.length;) {
    const c = b[i];
    let n: number, lo = 0x80, hi = 0xbf;
    if (c < 0x80) { i++; continue; } else if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) { n = 2; if (c === 0xe0) lo = 0xa0; if (c === 0xed) hi = 0x9f; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 3; if (c === 0xf0) lo = 0x90; if (c === 0xf4) hi = 0x8f; }
    else return i;
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || d < (k === 1 ? lo : 0x80) || d > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return b.length;
}
