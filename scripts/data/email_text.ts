// The readable text of a raw RFC 822 e-mail: its subject and body, every header dropped, MIME
// parts decoded (quoted-printable, base64, charsets), HTML reduced to its text. For the spam data.

export interface EmailText { subject: string; body: string }

interface Part { headers: Map<string, string>; body: string }

/** Headers (names lowercased, folded lines joined, first occurrence kept) and the body after the blank line. */
function splitPart(raw: string): Part {
  const lines = raw.split('\n');
  const headers = new Map<string, string>();
  let i = 0;
  let last: string | null = null;
  for (; i < lines.length && lines[i].trim() !== ''; i++) {
    const line = lines[i];
    if (/^[ \t]/.test(line) && last !== null) { headers.set(last, `${headers.get(last)} ${line.trim()}`); continue; }
    const m = /^([!-9;-~]+):(.*)$/.exec(line);
    if (!m) { last = null; continue; } // mbox "From " separator or junk
    last = m[1].toLowerCase();
    if (headers.has(last)) { last = null; continue; }
    headers.set(last, m[2].trim());
  }
  return { headers, body: lines.slice(i + 1).join('\n') };
}

/** "text/html; charset=x; boundary=y" -> type and parameters. */
function contentType(value: string | undefined): { type: string; params: Map<string, string> } {
  const [type, ...rest] = (value ?? 'text/plain').split(';');
  const params = new Map<string, string>();
  for (const p of rest) {
    const m = /^\s*([^=\s]+)\s*=\s*"?([^"]*)"?\s*$/.exec(p);
    if (m) params.set(m[1].toLowerCase(), m[2]);
  }
  return { type: type.trim().toLowerCase() || 'text/plain', params };
}

/** Bytes in a charset -> string; an unknown charset reads as Latin-1 (every byte a character). */
function decodeBytes(bytes: Uint8Array, charset: string | undefined): string {
  const label = (charset ?? 'latin1').trim().toLowerCase();
  try {
    return new TextDecoder(label).decode(bytes);
  } catch {
    return new TextDecoder('latin1').decode(bytes);
  }
}

// The stored text holds one character per original byte for 8-bit mail (or the UTF-8 it decoded to).
const toBytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

function decodeQuotedPrintable(s: string): Uint8Array {
  const out: number[] = [];
  const text = s.replace(/=[ \t]*\n/g, '');
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) { out.push(parseInt(text.slice(i + 1, i + 3), 16)); i += 2; }
    else out.push(c.charCodeAt(0) & 0xff);
  }
  return Uint8Array.from(out);
}

function decodeTransfer(body: string, encoding: string | undefined, charset: string | undefined): string {
  const enc = (encoding ?? '').trim().toLowerCase();
  if (enc === 'quoted-printable') return decodeBytes(decodeQuotedPrintable(body), charset);
  if (enc === 'base64') return decodeBytes(Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64'), charset);
  // 7bit/8bit as stored: re-decode only when a non-Latin charset says the bytes mean something else.
  return charset && !/^(us-ascii|iso-8859-1|latin1|windows-1252|utf-8)$/i.test(charset.trim()) ? decodeBytes(toBytes(body), charset) : body;
}

/** RFC 2047 encoded words in a header: =?charset?Q|B?text?=. */
export function decodeHeader(value: string): string {
  return value.replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=\s*(?==\?)?/g, (_, charset: string, kind: string, text: string) => {
    const bytes = kind.toUpperCase() === 'B' ? Buffer.from(text, 'base64') : decodeQuotedPrintable(text.replace(/_/g, ' '));
    return decodeBytes(bytes, charset);
  });
}

const ENTITIES: Record<string, string> = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", copy: '(c)', reg: '(R)', trade: '(TM)', middot: '*', bull: '*', hellip: '...', mdash: '-', ndash: '-', rsquo: "'", lsquo: "'", rdquo: '"', ldquo: '"', euro: 'EUR', pound: 'GBP' };

/** HTML -> its text: scripts, styles, comments and the head dropped; block tags become line breaks. */
export function htmlToText(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(script|style|head|title)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<(br|p|div|tr|li|h[1-6]|table|center|blockquote)\b[^>]*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);?/gi, (m, e: string) => {
      if (e[0] === '#') {
        const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    });
}

/** The text of a MIME part: plain text preferred over HTML in alternatives, attachments skipped. */
function partText(part: Part, depth = 0): string {
  if (depth > 8) return '';
  const { type, params } = contentType(part.headers.get('content-type'));
  const disposition = part.headers.get('content-disposition') ?? '';
  if (/^attachment/i.test(disposition) && !type.startsWith('text/')) return '';
  if (type.startsWith('multipart/')) {
    const boundary = params.get('boundary');
    if (!boundary) return part.body;
    const delim = `--${boundary}`;
    const children: Part[] = [];
    let current: string[] | null = null;
    for (const line of part.body.split('\n')) {
      if (line.startsWith(delim)) {
        if (current) children.push(splitPart(current.join('\n')));
        current = line.startsWith(`${delim}--`) ? null : [];
        if (current === null) break;
      } else if (current) current.push(line);
    }
    if (current) children.push(splitPart(current.join('\n')));
    if (type === 'multipart/alternative') {
      const plain = children.find((c) => contentType(c.headers.get('content-type')).type === 'text/plain');
      const chosen = plain ?? children[children.length - 1];
      return chosen ? partText(chosen, depth + 1) : '';
    }
    return children.map((c) => partText(c, depth + 1)).filter((t) => t.trim() !== '').join('\n');
  }
  if (type === 'message/rfc822') {
    const inner = splitPart(part.body);
    return partText(inner, depth + 1);
  }
  if (!type.startsWith('text/')) return '';
  const text = decodeTransfer(part.body, part.headers.get('content-transfer-encoding'), params.get('charset'));
  return type === 'text/html' ? htmlToText(text) : text;
}

/** Whitespace runs -> one space, or one newline where the run held a line break; ends trimmed. */
export function normalizeWhitespace(s: string): string {
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f\u00a0\u200b\ufeff]/g, ' ')
    .replace(/[ \t]*\n\s*/g, '\n').replace(/[ \t]+/g, ' ').trim();
}

/** Subject and body of a raw e-mail (CRLF or LF), whitespace normalised. */
export function emailText(raw: string): EmailText {
  const top = splitPart(raw.replace(/\r\n?/g, '\n'));
  const subject = normalizeWhitespace(decodeHeader(top.headers.get('subject') ?? '')).replace(/\n/g, ' ');
  return { subject, body: normalizeWhitespace(partText(top)) };
}
