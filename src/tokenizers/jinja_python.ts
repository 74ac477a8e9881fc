// Makes @huggingface/jinja strip strings as Python's Jinja2 does, which is what transformers renders
// with: `s.strip(chars)`, `s.lstrip(chars)`, `s.rstrip(chars)` and `| trim(chars)` honour their
// argument (the library ignores it), and with none they strip Python's whitespace (str.isspace: U+0085
// and U+001C-U+001F yes, U+FEFF no; JS's trim differs on those). A wrapper, not a patched copy: the
// library's classes are reached through its public API and changed only while renderLikePython runs,
// so any other user of the library in the process (transformers.js) keeps its own behaviour.
import { Environment, Interpreter, type Template } from '@huggingface/jinja';

/** Characters Python's str.isspace() accepts (Unicode White_Space less U+180E, plus U+001C-U+001F). */
const PY_SPACE = new Set(Array.from('\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000'));

/** Python's str.strip/lstrip/rstrip: chars null strips whitespace, else any of the given characters. */
export function pyStrip(s: string, chars: string | null, side: 'both' | 'left' | 'right'): string {
  const set = chars === null ? PY_SPACE : new Set(Array.from(chars));
  const cps = Array.from(s);
  let a = 0, b = cps.length;
  if (side !== 'right') while (a < b && set.has(cps[a])) a++;
  if (side !== 'left') while (b > a && set.has(cps[b - 1])) b--;
  return a === 0 && b === cps.length ? s : cps.slice(a, b).join('');
}

// The runtime classes, found through values the public API hands out.
interface RuntimeValue { value: unknown; type: string }
type Ctor = new (value: unknown) => RuntimeValue;
const probe = new Environment();
const stringValue = probe.set('s', 'x') as unknown as RuntimeValue & { builtins: Map<string, RuntimeValue> };
const StringValue = stringValue.constructor as Ctor;
const FunctionValue = stringValue.builtins.get('strip')!.constructor as Ctor;
const NullValue = (probe.set('n', null) as unknown as RuntimeValue).constructor;
const UndefinedValue = (probe.set('u', undefined) as unknown as RuntimeValue).constructor;

let active = 0;

/** template.render(items), with Python's string stripping. */
export function renderLikePython(template: Template, items: Record<string, unknown>): string {
  active++;
  try {
    return template.render(items);
  } finally {
    active--;
  }
}

// The chars argument as Python takes it: a string, or None / nothing for whitespace.
function charsArg(args: RuntimeValue[], what: string): string | null {
  const a = args[0];
  if (a === undefined || a instanceof NullValue || a instanceof UndefinedValue) return null;
  if (a.type !== 'StringValue') throw new Error(`${what} arg must be None or str, got ${a.type}`);
  return a.value as string;
}

// s.strip(...) / s.lstrip(...) / s.rstrip(...): the builtins map of a string, with the three replaced.
const desc = Object.getOwnPropertyDescriptor(StringValue.prototype, 'builtins');
if (!desc?.get) throw new Error('@huggingface/jinja: StringValue.builtins getter not found; jinja_python.ts needs updating for this version');
const originalBuiltins = desc.get;
const pythonBuiltins = new WeakMap<object, Map<string, RuntimeValue>>();
Object.defineProperty(StringValue.prototype, 'builtins', {
  configurable: true,
  get(this: RuntimeValue) {
    const base = originalBuiltins.call(this) as Map<string, RuntimeValue>;
    if (!active) return base;
    let m = pythonBuiltins.get(this);
    if (!m) {
      const s = this.value as string;
      m = new Map(base);
      for (const [name, side] of [['strip', 'both'], ['lstrip', 'left'], ['rstrip', 'right']] as const) {
        m.set(name, new FunctionValue((args: RuntimeValue[]) => new StringValue(pyStrip(s, charsArg(args, name), side))));
      }
      pythonBuiltins.set(this, m);
    }
    return m;
  },
});

// `| trim` and `| trim(chars)` (Jinja2's do_trim is str.strip(chars)).
type FilterNode = { type: string; value?: string; callee?: { type: string; value?: string }; args?: unknown[] };
type InterpreterInternals = {
  applyFilter(operand: RuntimeValue, filter: FilterNode, env: unknown): RuntimeValue;
  evaluateArguments(args: unknown[], env: unknown): [RuntimeValue[], Map<string, RuntimeValue>];
};
const proto = Interpreter.prototype as unknown as InterpreterInternals;
if (typeof proto.applyFilter !== 'function' || typeof proto.evaluateArguments !== 'function') {
  throw new Error('@huggingface/jinja: Interpreter.applyFilter not found; jinja_python.ts needs updating for this version');
}
const originalApplyFilter = proto.applyFilter;
proto.applyFilter = function (this: InterpreterInternals, operand, filter, env) {
  if (active && operand instanceof StringValue) {
    if (filter.type === 'Identifier' && filter.value === 'trim') return new StringValue(pyStrip(operand.value as string, null, 'both'));
    if (filter.type === 'CallExpression' && filter.callee?.type === 'Identifier' && filter.callee.value === 'trim') {
      const [args, kwargs] = this.evaluateArguments(filter.args ?? [], env);
      const chars = kwargs.get('chars');
      return new StringValue(pyStrip(operand.value as string, charsArg(chars ? [chars] : args, 'trim'), 'both'));
    }
  }
  return originalApplyFilter.call(this, operand, filter, env);
};
