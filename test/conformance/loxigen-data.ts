// Readers for loxigen's test data files (floodlight/loxigen test_data/of13/*.data):
// the file's sections, the hex of its "-- binary" section, and the Python
// constructor call of its "-- python" section as a generic syntax tree.
//
// The file format follows loxigen's own reader (test_data/__init__.py): "#" starts
// a comment on any line, blank lines are dropped, "-- name" opens a section, and
// every whitespace-separated token of the binary section is one byte in hex (so
// "2" is 0x02). The Python subset is what those sections use: calls with
// positional and keyword arguments, lists and tuples, integers, str and bytes
// literals with escapes, dotted names, method calls ("x".ljust(32, '.')), and the
// operators | - * (with Python's precedence). The tree is evaluated only on demand (pyInt, pyBytes...), so a
// constant or a vendor construct that no check reads needs no definition.

export function parseSections(text: string): Map<string, string> {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trimEnd();
    if (line === '') continue;
    if (line.startsWith('--')) {
      const name = line.slice(2).trim();
      if (sections.has(name)) throw new Error(`section "${name}" appears twice`);
      current = [];
      sections.set(name, current);
    } else {
      current?.push(line);
    }
  }
  return new Map([...sections].map(([k, v]) => [k, v.join('\n')]));
}

export function parseBinary(section: string): Uint8Array {
  const tokens = section.split(/\s+/).filter(Boolean);
  return Uint8Array.from(tokens, (t) => {
    if (!/^[0-9a-fA-F]{1,2}$/.test(t)) throw new Error(`"${t}" is not a byte in hex`);
    return parseInt(t, 16);
  });
}

// ---- the Python subset ---------------------------------------------------------

export type Py =
  | { kind: 'int'; value: bigint }
  /** A str literal, or a bytes literal (b'...') when `bytes` is set; escapes resolved. */
  | { kind: 'str'; value: string; bytes: boolean }
  /** A list or a tuple. */
  | { kind: 'seq'; items: Py[] }
  | { kind: 'name'; name: string }
  /** A method call x.m(...) has fn ".m" and x as its first argument. */
  | { kind: 'call'; fn: string; args: Py[]; kwargs: Map<string, Py> }
  | { kind: 'op'; op: '|' | '-' | '*'; left: Py; right: Py };

interface Token {
  kind: 'int' | 'str' | 'name' | 'punct';
  text: string;
  start: number;
  end: number;
}

const TOKEN =
  /(\s+|\\\n)|(0[xX][0-9a-fA-F]+|\d+)|([bB]?(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"))|([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)|([()[\],=|*.-])/y;

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < src.length) {
    const start = TOKEN.lastIndex;
    const m = TOKEN.exec(src);
    if (!m) throw new Error(`cannot read Python at "${src.slice(start, start + 20)}"`);
    const kind = m[2] ? 'int' : m[3] ? 'str' : m[4] ? 'name' : m[5] ? 'punct' : undefined;
    if (kind) out.push({ kind, text: m[0], start, end: TOKEN.lastIndex });
  }
  return out;
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '0': '\0', '\\': '\\', "'": "'", '"': '"' };

function unquote(text: string): { value: string; bytes: boolean } {
  const bytes = /^[bB]/.test(text);
  const body = text.slice(bytes ? 2 : 1, -1);
  const value = body.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, e: string) => {
    if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
    const c = ESCAPES[e];
    if (c === undefined) throw new Error(`unsupported escape \\${e}`);
    return c;
  });
  return { value, bytes };
}

/** Parses one Python expression (a whole "-- python" section). */
export function parsePython(src: string): Py {
  const toks = tokenize(src);
  let i = 0;
  const peek = (text: string) => toks[i]?.kind === 'punct' && toks[i].text === text;
  const expect = (text: string) => {
    if (!peek(text)) throw new Error(`expected "${text}" at ${toks[i]?.start ?? 'end'}`);
    i++;
  };
  // Python precedence: * binds tighter than -, which binds tighter than |.
  const binary = (op: '|' | '-' | '*', next: () => Py) => (): Py => {
    let left = next();
    while (peek(op)) {
      i++;
      left = { kind: 'op', op, left, right: next() };
    }
    return left;
  };
  const args = (call: Py & { kind: 'call' }): Py => {
    expect('(');
    while (!peek(')')) {
      if (toks[i]?.kind === 'name' && toks[i + 1]?.text === '=') {
        const key = toks[i].text;
        i += 2;
        call.kwargs.set(key, expr());
      } else {
        if (call.kwargs.size) throw new Error(`positional argument after keywords in ${call.fn}`);
        call.args.push(expr());
      }
      if (!peek(')')) expect(',');
    }
    i++;
    return call;
  };
  const atom = (): Py => {
    let a = primary();
    while (peek('.')) {
      i++;
      const m = toks[i++];
      if (m?.kind !== 'name') throw new Error(`expected a method name at ${m?.start ?? 'end'}`);
      a = args({ kind: 'call', fn: `.${m.text}`, args: [a], kwargs: new Map() });
    }
    return a;
  };
  const primary = (): Py => {
    const t = toks[i++];
    if (!t) throw new Error('unexpected end of Python');
    if (t.kind === 'int') return { kind: 'int', value: BigInt(t.text) };
    if (t.kind === 'str') return { kind: 'str', ...unquote(t.text) };
    if (t.kind === 'name') {
      return peek('(') ? args({ kind: 'call', fn: t.text, args: [], kwargs: new Map() }) : { kind: 'name', name: t.text };
    }
    if (t.text === '[' || t.text === '(') {
      const close = t.text === '[' ? ']' : ')';
      const items: Py[] = [];
      let comma = false;
      while (!peek(close)) {
        items.push(expr());
        if (peek(close)) break;
        expect(',');
        comma = true;
      }
      i++;
      // "(x)" is x itself; "(x,)" and "[x]" are sequences.
      return close === ')' && items.length === 1 && !comma ? items[0] : { kind: 'seq', items };
    }
    throw new Error(`unexpected "${t.text}" at ${t.start}`);
  };
  const expr = binary('|', binary('-', binary('*', atom)));
  const tree = expr();
  if (i !== toks.length) throw new Error(`unexpected "${toks[i].text}" at ${toks[i].start}`);
  return tree;
}

/** Where the integer and string literals are, so a test can change each one. */
export function literalSpans(src: string): { kind: 'int' | 'str'; start: number; end: number }[] {
  return tokenize(src).flatMap((t) => (t.kind === 'int' || t.kind === 'str' ? [{ kind: t.kind, start: t.start, end: t.end }] : []));
}

// ---- evaluation of the subset --------------------------------------------------

function show(n: Py): string {
  return n.kind === 'call' ? `${n.fn}(...)` : n.kind === 'name' ? n.name : n.kind;
}

/** An integer: a literal, a named constant (looked up in `constants`), or a | b, a - b. */
export function pyInt(n: Py, constants: Readonly<Record<string, number | bigint>> = {}): bigint {
  if (n.kind === 'int') return n.value;
  if (n.kind === 'name') {
    const c = constants[n.name];
    if (c === undefined) throw new Error(`unknown constant ${n.name}`);
    return BigInt(c);
  }
  if (n.kind === 'op' && n.op !== '*') {
    const [a, b] = [pyInt(n.left, constants), pyInt(n.right, constants)];
    return n.op === '|' ? a | b : a - b;
  }
  throw new Error(`expected an integer, got ${show(n)}`);
}

/** Bytes: a str or bytes literal (each character one byte), a list of ints, or bytes * n. */
export function pyBytes(n: Py): Uint8Array {
  if (n.kind === 'str') {
    return Uint8Array.from(n.value, (c) => {
      const b = c.charCodeAt(0);
      if (b > 0xff) throw new Error(`character U+${b.toString(16)} is not a byte`);
      return b;
    });
  }
  if (n.kind === 'seq') {
    return Uint8Array.from(n.items, (x) => {
      const b = pyInt(x);
      if (b < 0n || b > 0xffn) throw new Error(`${b} is not a byte`);
      return Number(b);
    });
  }
  if (n.kind === 'op' && n.op === '*') {
    const unit = pyBytes(n.left);
    const times = Number(pyInt(n.right));
    const out = new Uint8Array(unit.length * times);
    for (let k = 0; k < times; k++) out.set(unit, k * unit.length);
    return out;
  }
  throw new Error(`expected bytes, got ${show(n)}`);
}

/** Text: a str literal (port and table names). */
export function pyText(n: Py): string {
  if (n.kind === 'str' && !n.bytes) return n.value;
  throw new Error(`expected a str, got ${show(n)}`);
}

/** A set of integers: set(), set(iterable), range(a, b), a tuple or list, or s - t. */
export function pySet(n: Py): Set<bigint> {
  if (n.kind === 'seq') return new Set(n.items.map((x) => pyInt(x)));
  if (n.kind === 'op' && n.op === '-') {
    const out = pySet(n.left);
    for (const x of pySet(n.right)) out.delete(x);
    return out;
  }
  if (n.kind === 'call' && n.fn === 'set' && n.args.length <= 1 && !n.kwargs.size) {
    return n.args.length ? pySet(n.args[0]) : new Set();
  }
  if (n.kind === 'call' && n.fn === 'range' && n.args.length === 2 && !n.kwargs.size) {
    const out = new Set<bigint>();
    for (let x = pyInt(n.args[0]); x < pyInt(n.args[1]); x++) out.add(x);
    return out;
  }
  throw new Error(`expected a set, got ${show(n)}`);
}
