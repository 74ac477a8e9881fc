// Hugging Face tokenizers run Split patterns with Oniguruma; this rewrites such a pattern as a JS
// regex (u flag) that matches the same text. Checked against HF tokenizers itself for each rule:
//   \s \S   -> \p{White_Space}: Oniguruma's \s has U+0085 and not U+FEFF, JS's \s the reverse
//   \d \w \b \h -> their Unicode (Oniguruma) meanings; \h is a hex digit there, not a blank
//   (?i:X) (?i)  -> letters expanded to every case form JS's /iu would match (k also matches U+212A)
//   X?+ X*+ X++ (?>X) -> possessive/atomic, emulated as (?=(?<g>X))\k<g>; X{n,m}+ is (?:X{n,m})+
//   ^ $ .   -> line anchors at \n only; . is anything but \n; \A \z \Z are input anchors
//   \p{Han} -> \p{Script=Han}; \p{^L} -> \P{L}; \x{HHHH} -> \u{HHHH}
// Anything else unusual (nested classes, class set operations, backreferences by number, callouts,
// absent groups, \K, \R, \X, \G) is refused by name rather than translated approximately.

const GENERAL_CATEGORIES = new Set([
  'L', 'LC', 'Lu', 'Ll', 'Lt', 'Lm', 'Lo', 'M', 'Mn', 'Mc', 'Me', 'N', 'Nd', 'Nl', 'No',
  'P', 'Pc', 'Pd', 'Ps', 'Pe', 'Pi', 'Pf', 'Po', 'S', 'Sm', 'Sc', 'Sk', 'So', 'Z', 'Zs', 'Zl', 'Zp',
  'C', 'Cc', 'Cf', 'Cs', 'Co', 'Cn',
  'Letter', 'Cased_Letter', 'Uppercase_Letter', 'Lowercase_Letter', 'Titlecase_Letter', 'Modifier_Letter',
  'Other_Letter', 'Mark', 'Nonspacing_Mark', 'Spacing_Mark', 'Enclosing_Mark', 'Number', 'Decimal_Number',
  'Letter_Number', 'Other_Number', 'Punctuation', 'Connector_Punctuation', 'Dash_Punctuation',
  'Open_Punctuation', 'Close_Punctuation', 'Initial_Punctuation', 'Final_Punctuation', 'Other_Punctuation',
  'Symbol', 'Math_Symbol', 'Currency_Symbol', 'Modifier_Symbol', 'Other_Symbol', 'Separator',
  'Space_Separator', 'Line_Separator', 'Paragraph_Separator', 'Other', 'Control', 'Format', 'Surrogate',
  'Private_Use', 'Unassigned',
]);

// Oniguruma's POSIX-style property names -> JS binary properties or categories.
const PROPERTY_ALIASES: Record<string, string> = {
  Alpha: 'Alphabetic', Alphabetic: 'Alphabetic', Upper: 'Uppercase', Uppercase: 'Uppercase',
  Lower: 'Lowercase', Lowercase: 'Lowercase', Space: 'White_Space', White_Space: 'White_Space',
  Digit: 'Nd', Punct: 'P', Cntrl: 'Cc', Any: 'Any', Assigned: 'Assigned', ASCII: 'ASCII',
  Emoji: 'Emoji', Ideographic: 'Ideographic',
};

const WORD = '\\p{L}\\p{M}\\p{Nd}\\p{Pc}';   // Oniguruma's Unicode \w, as class contents
const SPACE = '\\p{White_Space}';
const JS_SYNTAX = new Set([...'^$\\.*+?()[]{}|/']);

export class RegexTranslationError extends Error {}

/** Translates an Oniguruma pattern (as found in tokenizer.json) to JS regex source for the u flag. */
export function translateOnigurumaRegex(pattern: string): string {
  const out = new Translator(pattern).run();
  try {
    new RegExp(out, 'u');
  } catch (e) {
    throw new RegexTranslationError(`pattern ${JSON.stringify(pattern)} translates to ${JSON.stringify(out)}, which JS rejects: ${(e as Error).message}`);
  }
  return out;
}

class Translator {
  private i = 0;
  private groups = 0;   // counter for the named groups that emulate atomic matching

  constructor(private readonly p: string) {}

  run(): string {
    const s = this.alternation(false);
    if (this.i < this.p.length) this.fail(`unbalanced ')' at offset ${this.i}`);
    return s;
  }

  private fail(msg: string): never {
    throw new RegexTranslationError(`pattern ${JSON.stringify(this.p)}: ${msg}`);
  }

  // alternation := sequence ('|' sequence)* ; stops before ')' or at the end.
  private alternation(ci: boolean): string {
    const alts: string[] = [];
    let flags = { ci };
    for (;;) {
      alts.push(this.sequence(flags));
      if (this.p[this.i] !== '|') break;
      this.i++;
    }
    return alts.join('|');
  }

  // A run of quantified atoms. (?i) switches case-insensitivity on for the rest of the enclosing group.
  private sequence(flags: { ci: boolean }): string {
    let out = '';
    while (this.i < this.p.length && this.p[this.i] !== '|' && this.p[this.i] !== ')') {
      const inline = /^\(\?([imx]*)(?:-([imx]*))?\)/.exec(this.p.slice(this.i));
      if (inline) {
        this.applyFlags(flags, inline[1], inline[2] ?? '');
        this.i += inline[0].length;
        continue;
      }
      const atom = this.atom(flags.ci);
      out += this.quantified(atom);
    }
    return out;
  }

  private applyFlags(flags: { ci: boolean }, on: string, off: string) {
    if (/[mx]/.test(on + off)) this.fail(`inline option (?${on}${off ? '-' + off : ''}) other than i is not supported`);
    if (on.includes('i')) flags.ci = true;
    if (off.includes('i')) flags.ci = false;
  }

  // Reads any quantifier after an atom; possessive forms become an atomic group.
  private quantified(atom: string): string {
    const m = /^(?:[?*+]|\{(\d*)(?:,(\d*))?\})/.exec(this.p.slice(this.i));
    if (!m) return atom;
    if (m[0].startsWith('{') && m[1] === '' && m[2] === undefined) return atom;   // unreachable: '{' alone is read as a literal
    this.i += m[0].length;
    let q = m[0];
    if (q.startsWith('{') && m[1] === '') q = `{0,${m[2]}}`;   // Oniguruma's {,n}
    const next = this.p[this.i];
    if (next === '?') { this.i++; return atom + q + '?'; }
    if (next === '+') {
      this.i++;
      if (q.startsWith('{')) return `(?:${atom}${q})+`;      // Oniguruma: an interval followed by + repeats it
      return this.atomic(atom + q);
    }
    return atom + q;
  }

  private atomic(inner: string): string {
    const name = `onigAtomic${this.groups++}`;
    return `(?=(?<${name}>${inner}))\\k<${name}>`;
  }

  private atom(ci: boolean): string {
    const c = this.p[this.i];
    if (c === '(') return this.group(ci);
    if (c === '[') return this.charClass(ci);
    if (c === '\\') return this.escape(ci, false);
    this.i++;
    if (c === '.') return '[^\\n]';
    if (c === '^') return '(?<=^|\\n)';
    if (c === '$') return '(?=\\n|$)';
    if (c === '*' || c === '+' || c === '?') this.fail(`quantifier '${c}' with nothing to repeat at offset ${this.i - 1}`);
    if (c === '{') {
      // A '{' that does not start a valid interval is a literal in Oniguruma; JS's u flag wants it escaped.
      return '\\{';
    }
    if (c === '}' || c === ']') return '\\' + c;
    return literal(c === undefined ? '' : this.codePointAt(c), ci);
  }

  // Takes the whole code point at i-1 when it is the first half of a surrogate pair.
  private codePointAt(c: string): string {
    const cp = c.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdbff && this.i < this.p.length) {
      const full = this.p.slice(this.i - 1, this.i + 1);
      if (full.codePointAt(0)! > 0xffff) { this.i++; return full; }
    }
    return c;
  }

  private group(ci: boolean): string {
    const rest = this.p.slice(this.i);
    let open: string;
    let inner: { ci: boolean } = { ci };
    let m: RegExpExecArray | null;
    if (rest.startsWith('(?:') || rest.startsWith('(?=') || rest.startsWith('(?!') || rest.startsWith('(?<=') || rest.startsWith('(?<!')) {
      open = rest.slice(0, rest.startsWith('(?<') ? 4 : 3);
    } else if ((m = /^\(\?<([A-Za-z_]\w*)>/.exec(rest))) {
      open = m[0];
    } else if ((m = /^\(\?([imx]*)(?:-([imx]*))?:/.exec(rest))) {
      this.applyFlags(inner, m[1], m[2] ?? '');
      this.i += m[0].length;
      const body = this.alternation(inner.ci);
      this.expect(')');
      return `(?:${body})`;
    } else if (rest.startsWith('(?>')) {
      this.i += 3;
      const body = this.alternation(ci);
      this.expect(')');
      return this.atomic(`(?:${body})`);
    } else if (rest.startsWith('(?')) {
      this.fail(`group ${JSON.stringify(rest.slice(0, 4))} is not supported`);
    } else {
      open = '(';
    }
    this.i += open.length;
    const body = this.alternation(inner.ci);
    this.expect(')');
    return `${open}${body})`;
  }

  private expect(c: string) {
    if (this.p[this.i] !== c) this.fail(`expected '${c}' at offset ${this.i}`);
    this.i++;
  }

  // [...] with Oniguruma escapes; nested classes and && are refused.
  private charClass(ci: boolean): string {
    this.i++;   // '['
    let out = '[';
    if (this.p[this.i] === '^') { out += '^'; this.i++; }
    let first = true;
    while (this.i < this.p.length && (this.p[this.i] !== ']' || first)) {
      first = false;
      const c = this.p[this.i];
      if (c === '[') this.fail(`nested character class at offset ${this.i} is not supported`);
      if (c === '&' && this.p[this.i + 1] === '&') this.fail(`class intersection '&&' at offset ${this.i} is not supported`);
      if (c === '\\') { out += this.escape(ci, true); continue; }
      this.i++;
      const ch = this.codePointAt(c);
      if (this.p[this.i] === '-' && this.p[this.i + 1] !== ']' && this.p[this.i + 1] !== undefined) {
        // A range lo-hi.
        this.i++;
        let hi: string;
        if (this.p[this.i] === '\\') {
          const e = this.escape(false, true);
          const cp = escapedCodePoint(e);
          if (cp === null) this.fail(`range to ${e} in a character class is not supported`);
          hi = String.fromCodePoint(cp);
        } else {
          this.i++;
          hi = this.codePointAt(this.p[this.i - 1]);
        }
        out += classChar(ch) + '-' + classChar(hi);
        if (ci) out += caseRange(ch, hi);
        continue;
      }
      out += ci ? caseVariants(ch).map(classChar).join('') : classChar(ch);
    }
    if (this.p[this.i] !== ']') this.fail('unterminated character class');
    this.i++;
    return out + ']';
  }

  // One escape; inClass changes how class shorthands are written.
  private escape(ci: boolean, inClass: boolean): string {
    const c = this.p[this.i + 1];
    if (c === undefined) this.fail('pattern ends with a backslash');
    this.i += 2;
    const wrap = (body: string, negate = false) => inClass ? (negate ? this.fail(`negated shorthand \\${c} inside a class is not supported`) : body) : `[${negate ? '^' : ''}${body}]`;
    switch (c) {
      case 's': return inClass ? SPACE : SPACE;
      case 'S': return inClass ? this.fail('\\S inside a class is not supported') : '\\P{White_Space}';
      case 'd': return inClass ? '\\p{Nd}' : '\\p{Nd}';
      case 'D': return inClass ? this.fail('\\D inside a class is not supported') : '\\P{Nd}';
      case 'w': return wrap(WORD);
      case 'W': return wrap(WORD, true);
      case 'h': return wrap('0-9a-fA-F');
      case 'H': return wrap('0-9a-fA-F', true);
      case 'b': case 'B': {
        if (inClass) this.fail(`\\${c} inside a class is not supported`);
        const w = `[${WORD}]`;
        const boundary = `(?:(?<=${w})(?!${w})|(?<!${w})(?=${w}))`;
        return c === 'b' ? boundary : `(?!${boundary})`;
      }
      case 'A': return '^';
      case 'z': return '$';
      case 'Z': return '(?=\\n?$)';
      case 'p': case 'P': return this.property(c === 'P');
      case 'x': {
        const m = /^\{([0-9a-fA-F]{1,8})\}|^([0-9a-fA-F]{1,2})/.exec(this.p.slice(this.i));
        if (!m) this.fail(`bad \\x escape at offset ${this.i - 2}`);
        this.i += m[0].length;
        const cp = parseInt(m[1] ?? m[2], 16);
        return inClass ? classChar(String.fromCodePoint(cp)) : literal(String.fromCodePoint(cp), ci);
      }
      case 'u': {
        const m = /^[0-9a-fA-F]{4}/.exec(this.p.slice(this.i));
        if (!m) this.fail(`bad \\u escape at offset ${this.i - 2}`);
        this.i += 4;
        const ch = String.fromCodePoint(parseInt(m[0], 16));
        return inClass ? classChar(ch) : literal(ch, ci);
      }
      case 'n': case 'r': case 't': case 'f': case 'v': return '\\' + c;
      case 'a': return '\\x07';
      case 'e': return '\\x1b';
      case '0': return '\\0';
      default:
        if (/[1-9kgKRXGNOyY]/.test(c)) this.fail(`escape \\${c} is not supported`);
        if (/[A-Za-z]/.test(c)) this.fail(`unknown escape \\${c}`);
        return inClass ? classChar(c) : literal(c, ci);
    }
  }

  private property(negated: boolean): string {
    const m = /^\{(\^?)([A-Za-z_ =]+)\}/.exec(this.p.slice(this.i));
    if (!m) this.fail(`bad \\p escape at offset ${this.i - 2}`);
    this.i += m[0].length;
    if (m[1]) negated = !negated;
    const name = m[2].replace(/ /g, '_');
    let js: string;
    if (GENERAL_CATEGORIES.has(name) || name.includes('=')) js = name;
    else if (PROPERTY_ALIASES[name]) js = PROPERTY_ALIASES[name];
    else js = `Script=${name}`;
    const out = `\\${negated ? 'P' : 'p'}{${js}}`;
    try {
      new RegExp(out, 'u');
    } catch {
      this.fail(`unknown Unicode property \\p{${m[2]}}`);
    }
    return out;
  }
}

// ---- literals and case-insensitivity ----

function literal(ch: string, ci: boolean): string {
  if (ci) {
    const v = caseVariants(ch);
    if (v.length > 1) return '[' + v.map(classChar).join('') + ']';
  }
  return JS_SYNTAX.has(ch) ? '\\' + ch : ch;
}

function classChar(ch: string): string {
  return ch === '\\' || ch === ']' || ch === '[' || ch === '^' || ch === '-' ? '\\' + ch : ch;
}

function escapedCodePoint(e: string): number | null {
  if (e.length === 1) return e.codePointAt(0)!;
  if (e.length === 2 && e[0] === '\\' && !/[a-zA-Z0-9]/.test(e[1])) return e.codePointAt(1)!;
  const named: Record<string, number> = { '\\n': 10, '\\r': 13, '\\t': 9, '\\f': 12, '\\v': 11, '\\0': 0, '\\x07': 7, '\\x1b': 27 };
  return named[e] ?? (e.length <= 2 ? e.codePointAt(e.length - 1)! : null);
}

let FOLD_CLASSES: Map<string, string[]> | null = null;

/** Every BMP character that /c/iu matches: c, its other case, and oddities like U+212A KELVIN SIGN for k. */
export function caseVariants(ch: string): string[] {
  if (!FOLD_CLASSES) {
    // Group code points by their simple case fold, computed once with JS's own /iu semantics.
    const byKey = new Map<string, string[]>();
    for (let cp = 0; cp < 0x10000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const s = String.fromCharCode(cp);
      const lo = s.toLowerCase(), up = s.toUpperCase();
      if (lo === s && up === s) continue;
      const key = foldKey(s, lo, up);
      const list = byKey.get(key);
      if (list) list.push(s); else byKey.set(key, [s]);
    }
    FOLD_CLASSES = new Map();
    for (const list of byKey.values()) {
      // Keep only members that JS itself treats as the same letter under /iu.
      for (const s of list) {
        const re = new RegExp(`^${literal(s, false)}$`, 'iu');
        FOLD_CLASSES.set(s, list.filter((t) => re.test(t)));
      }
    }
  }
  return FOLD_CLASSES.get(ch) ?? [ch];
}

function foldKey(s: string, lo: string, up: string): string {
  // Lower-casing the upper case joins pairs like K/k and KELVIN SIGN, S/s and LONG S.
  const l2 = up.length === 1 ? up.toLowerCase() : lo;
  return l2.length === 1 ? l2 : lo.length === 1 ? lo : s;
}

// For a case-insensitive range, add the other case of an ASCII letter range (a-z -> A-Z too).
function caseRange(lo: string, hi: string): string {
  const a = lo.codePointAt(0)!, b = hi.codePointAt(0)!;
  if (a >= 0x61 && b <= 0x7a) return String.fromCharCode(a - 32) + '-' + String.fromCharCode(b - 32) + (a <= 0x6b && b >= 0x6b ? '\u212a' : '') + (a <= 0x73 && b >= 0x73 ? '\u017f' : '');
  if (a >= 0x41 && b <= 0x5a) return String.fromCharCode(a + 32) + '-' + String.fromCharCode(b + 32) + (a <= 0x4b && b >= 0x4b ? '\u212a' : '') + (a <= 0x53 && b >= 0x53 ? '\u017f' : '');
  if (a === b) return caseVariants(lo).map(classChar).join('');
  throw new RegexTranslationError(`case-insensitive range ${lo}-${hi} outside ASCII letters is not supported`);
}
