// Follows a JSONL file as another process appends to it (metrics.jsonl while a run trains): each poll
// reads the bytes added since the last one and hands on the complete lines. A line without its
// newline yet (an append caught halfway) waits for the next poll; a file replaced or cut shorter
// (a resumed run rewrites its metrics) starts over from the top.
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';

export interface FollowEvents {
  /** Parsed objects of the lines completed since the last call. */
  rows(rows: unknown[]): void;
  /** The file was replaced or truncated: what was sent before no longer holds. */
  reset(): void;
  /** A complete line that is not JSON (skipped), named by file and line number. */
  problem(message: string): void;
}

export class JsonlFollower {
  private offset = 0;
  private ino = -1;
  private line = 0;
  private pending: Buffer = Buffer.alloc(0);

  constructor(readonly path: string, private readonly on: FollowEvents) {}

  /** Reads what was appended since the last poll; a missing file is an empty one. */
  poll(): void {
    let st;
    try { st = statSync(this.path); } catch { st = null; }
    if (!st) { if (this.offset > 0 || this.pending.length) this.restart(); return; }
    if ((this.ino !== -1 && st.ino !== this.ino) || st.size < this.offset) this.restart();
    this.ino = st.ino;
    if (st.size === this.offset) return;
    let fd;
    try { fd = openSync(this.path, 'r'); } catch { return; }
    try {
      const size = fstatSync(fd).size;
      if (size < this.offset) { this.restart(); }
      const chunk = Buffer.alloc(size - this.offset);
      let got = 0;
      while (got < chunk.length) {
        const n = readSync(fd, chunk, got, chunk.length - got, this.offset + got);
        if (n === 0) break;
        got += n;
      }
      this.offset += got;
      this.take(Buffer.concat([this.pending, chunk.subarray(0, got)]));
    } finally {
      closeSync(fd);
    }
  }

  private take(buf: Buffer): void {
    const rows: unknown[] = [];
    let start = 0;
    for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, start)) {
      const text = buf.subarray(start, nl).toString('utf8');
      start = nl + 1;
      this.line++;
      if (!text.trim()) continue;
      try {
        rows.push(JSON.parse(text));
      } catch (e) {
        this.on.problem(`${this.path}:${this.line}: skipped a line that is not JSON (${(e as Error).message})`);
      }
    }
    this.pending = Buffer.from(buf.subarray(start));
    if (rows.length) this.on.rows(rows);
  }

  private restart(): void {
    this.offset = 0;
    this.line = 0;
    this.pending = Buffer.alloc(0);
    this.ino = -1;
    this.on.reset();
  }
}
