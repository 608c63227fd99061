// Calico's label selector language, as BGPPeer.nodeSelector / peerSelector (and IPPool.nodeSelector) use it:
// a recursive-descent parser and an evaluator over a label map. Written from libcalico-go's
// lib/selector/tokenizer/tokenizer.go and lib/selector/parser/{parser,ast}.go (projectcalico/calico), so
// that tern selects exactly the nodes Calico selects:
//
//   or     := and ( "||" and )*
//   and    := op ( "&&" op )*
//   op     := "!"* ( "all()" | "global()" | "has(" label ")" | "(" or ")"
//                  | label ( "==" | "!=" | "contains" | "starts with" | "ends with" ) string
//                  | label ( "in" | "not in" ) "{" [ string ( "," string )* ] "}" )
//   label  := [A-Za-z0-9_./-]+ (at most 512 characters)
//   string := '...' | "..." (no escapes)
//
// An empty selector (only blanks) is all(). `a != 'x'` and `a not in {...}` also match when `a` is absent;
// every other comparison needs the label. `global()` matches everything (Calico uses it to tell global
// from namespaced resources; over node labels it is all()). Blanks are spaces and tabs only.

export type Labels = Readonly<Record<string, string>>;

export type SelectorNode =
  | { readonly op: 'all' }
  | { readonly op: 'global' }
  | { readonly op: 'has'; readonly label: string }
  | {
      readonly op: '==' | '!=' | 'contains' | 'starts with' | 'ends with';
      readonly label: string;
      readonly value: string;
    }
  | { readonly op: 'in' | 'not in'; readonly label: string; readonly values: readonly string[] }
  | { readonly op: 'not'; readonly expr: SelectorNode }
  | { readonly op: 'and' | 'or'; readonly exprs: readonly SelectorNode[] };

export interface Selector {
  /** The text as written. */
  readonly text: string;
  readonly root: SelectorNode;
}

/** A selector that does not parse: `position` is the 0-based character offset of the problem. */
export class SelectorError extends Error {
  override readonly name = 'SelectorError';
  readonly position: number;
  readonly detail: string;

  constructor(text: string, position: number, detail: string) {
    super(`bad selector ${JSON.stringify(text)} at character ${position + 1}: ${detail}`);
    this.position = position;
    this.detail = detail;
  }
}

const MAX_LABEL_LENGTH = 512;

type TokKind =
  | 'label'
  | 'string'
  | '{'
  | '}'
  | ','
  | '=='
  | '!='
  | 'in'
  | 'not in'
  | 'contains'
  | 'starts with'
  | 'ends with'
  | '!'
  | 'all'
  | 'global'
  | 'has'
  | '('
  | ')'
  | '&&'
  | '||'
  | 'eof';

interface Token {
  readonly kind: TokKind;
  readonly value: string;
  readonly at: number;
}

function identifierChar(c: string | undefined): boolean {
  return c !== undefined && /^[A-Za-z0-9_./-]$/.test(c);
}

function isBlank(c: string | undefined): boolean {
  return c === ' ' || c === '\t';
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (at: number, detail: string): never => {
    throw new SelectorError(text, at, detail);
  };
  const skipBlanks = (): void => {
    while (isBlank(text[i])) i++;
  };
  const identifier = (): string => {
    const start = i;
    while (identifierChar(text[i])) i++;
    if (i === start) fail(start, 'expected a label name (letters, digits, _ . / -)');
    if (i - start > MAX_LABEL_LENGTH) fail(start, `label longer than ${MAX_LABEL_LENGTH} characters`);
    return text.slice(start, i);
  };
  /** `word` at i followed by a word boundary. */
  const word = (w: string): boolean => text.startsWith(w, i) && !identifierChar(text[i + w.length]);
  /** Two words with blanks between ("not in", also "notin" as Calico allows). */
  const twoWords = (a: string, b: string): number | undefined => {
    if (!text.startsWith(a, i)) return undefined;
    let j = i + a.length;
    while (isBlank(text[j])) j++;
    if (!text.startsWith(b, j) || identifierChar(text[j + b.length])) return undefined;
    return j + b.length;
  };
  for (;;) {
    skipBlanks();
    const at = i;
    if (i >= text.length) {
      tokens.push({ kind: 'eof', value: '', at });
      return tokens;
    }
    const c = text[i]!;
    const last = tokens[tokens.length - 1]?.kind;
    const push = (kind: TokKind, length: number, value = ''): void => {
      tokens.push({ kind, value, at });
      i += length;
    };
    if (c === '(' || c === ')' || c === '{' || c === '}' || c === ',') push(c, 1);
    else if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail(at, `unterminated string (no closing ${c})`);
      tokens.push({ kind: 'string', value: text.slice(i + 1, end), at });
      i = end + 1;
    } else if (c === '=') {
      if (text.startsWith('==', i)) push('==', 2);
      else fail(at, 'expected == (a single = is not an operator)');
    } else if (c === '!') {
      if (text.startsWith('!=', i)) push('!=', 2);
      else push('!', 1);
    } else if (c === '&') {
      if (text.startsWith('&&', i)) push('&&', 2);
      else fail(at, 'expected &&');
    } else if (c === '|') {
      if (text.startsWith('||', i)) push('||', 2);
      else fail(at, 'expected ||');
    } else if (last === 'label') {
      // after a label: an operator
      const starts = twoWords('starts', 'with');
      const ends = twoWords('ends', 'with');
      const notIn = twoWords('not', 'in');
      if (word('contains')) push('contains', 'contains'.length);
      else if (starts !== undefined) push('starts with', starts - i);
      else if (ends !== undefined) push('ends with', ends - i);
      else if (notIn !== undefined) push('not in', notIn - i);
      else if (word('in')) push('in', 2);
      else {
        fail(
          at,
          `expected an operator after label ${JSON.stringify(tokens[tokens.length - 1]!.value)} (==, !=, in, not in, contains, starts with, ends with)`,
        );
      }
    } else if (text.startsWith('has(', i)) {
      i += 4;
      skipBlanks();
      const label = identifier();
      skipBlanks();
      if (text[i] !== ')') fail(i, "expected ')' to close has(");
      i++;
      tokens.push({ kind: 'has', value: label, at });
    } else if (text.startsWith('all(', i) || text.startsWith('global(', i)) {
      const kind = text[i] === 'a' ? 'all' : 'global';
      i += kind.length + 1;
      skipBlanks();
      if (text[i] !== ')') fail(i, `expected ')' after ${kind}(`);
      i++;
      tokens.push({ kind, value: '', at });
    } else {
      const label = identifier();
      tokens.push({ kind: 'label', value: label, at });
    }
  }
}

class Parser {
  private i = 0;

  constructor(
    private readonly text: string,
    private readonly tokens: readonly Token[],
  ) {}

  private peek(): Token {
    return this.tokens[this.i]!;
  }

  private fail(t: Token, detail: string): never {
    throw new SelectorError(this.text, t.at, detail);
  }

  private describe(t: Token): string {
    if (t.kind === 'eof') return 'the end of the selector';
    if (t.kind === 'label') return `label ${JSON.stringify(t.value)}`;
    if (t.kind === 'string') return `string ${JSON.stringify(t.value)}`;
    if (t.kind === 'has') return `has(${t.value})`;
    if (t.kind === 'all' || t.kind === 'global') return `${t.kind}()`;
    return JSON.stringify(t.kind);
  }

  root(): SelectorNode {
    if (this.peek().kind === 'eof') return { op: 'all' };
    const node = this.or();
    const t = this.peek();
    if (t.kind !== 'eof') this.fail(t, `unexpected ${this.describe(t)} (expected && or || or the end)`);
    return node;
  }

  private or(): SelectorNode {
    const exprs = [this.and()];
    while (this.peek().kind === '||') {
      this.i++;
      exprs.push(this.and());
    }
    return exprs.length === 1 ? exprs[0]! : { op: 'or', exprs };
  }

  private and(): SelectorNode {
    const exprs = [this.operation()];
    while (this.peek().kind === '&&') {
      this.i++;
      exprs.push(this.operation());
    }
    return exprs.length === 1 ? exprs[0]! : { op: 'and', exprs };
  }

  private operation(): SelectorNode {
    let negated = false;
    while (this.peek().kind === '!') {
      negated = !negated;
      this.i++;
    }
    const node = this.term();
    return negated ? { op: 'not', expr: node } : node;
  }

  private term(): SelectorNode {
    const t = this.peek();
    switch (t.kind) {
      case 'has':
        this.i++;
        return { op: 'has', label: t.value };
      case 'all':
        this.i++;
        return { op: 'all' };
      case 'global':
        this.i++;
        return { op: 'global' };
      case '(': {
        this.i++;
        const inner = this.or();
        const close = this.peek();
        if (close.kind !== ')') this.fail(close, `expected ')' (to close the '(' at character ${t.at + 1})`);
        this.i++;
        return inner;
      }
      case 'label': {
        this.i++;
        const op = this.peek();
        this.i++;
        if (
          op.kind === '==' ||
          op.kind === '!=' ||
          op.kind === 'contains' ||
          op.kind === 'starts with' ||
          op.kind === 'ends with'
        ) {
          const v = this.peek();
          if (v.kind !== 'string') {
            this.fail(v, `expected a quoted string after ${op.kind}, got ${this.describe(v)}`);
          }
          this.i++;
          return { op: op.kind, label: t.value, value: v.value };
        }
        if (op.kind === 'in' || op.kind === 'not in') {
          const open = this.peek();
          if (open.kind !== '{') this.fail(open, `expected a set literal {'a', 'b'} after ${op.kind}`);
          this.i++;
          const values: string[] = [];
          while (this.peek().kind === 'string') {
            values.push(this.peek().value);
            this.i++;
            if (this.peek().kind !== ',') break;
            this.i++;
          }
          const close = this.peek();
          if (close.kind !== '}')
            this.fail(close, `expected '}' to close the set, got ${this.describe(close)}`);
          this.i++;
          return { op: op.kind, label: t.value, values: [...new Set(values)].sort() };
        }
        return this.fail(op, `expected == or != after label ${JSON.stringify(t.value)}`);
      }
      default:
        return this.fail(t, `unexpected ${this.describe(t)} (expected a label, has(...), all(), '(' or '!')`);
    }
  }
}

/** Parses a selector; throws SelectorError with the position of the problem. */
export function parseSelector(text: string): Selector {
  return { text, root: new Parser(text, tokenize(text)).root() };
}

/** Whether labels match the selector. */
export function matches(selector: Selector | SelectorNode, labels: Labels): boolean {
  return evaluate('root' in selector ? selector.root : selector, labels);
}

function evaluate(n: SelectorNode, labels: Labels): boolean {
  const value = (label: string): string | undefined =>
    Object.hasOwn(labels, label) ? labels[label] : undefined;
  switch (n.op) {
    case 'all':
    case 'global':
      return true;
    case 'has':
      return value(n.label) !== undefined;
    case '==':
      return value(n.label) === n.value;
    case '!=':
      return value(n.label) !== n.value;
    case 'contains':
      return value(n.label)?.includes(n.value) === true;
    case 'starts with':
      return value(n.label)?.startsWith(n.value) === true;
    case 'ends with':
      return value(n.label)?.endsWith(n.value) === true;
    case 'in': {
      const v = value(n.label);
      return v !== undefined && n.values.includes(v);
    }
    case 'not in': {
      const v = value(n.label);
      return v === undefined || !n.values.includes(v);
    }
    case 'not':
      return !evaluate(n.expr, labels);
    case 'and':
      return n.exprs.every((e) => evaluate(e, labels));
    case 'or':
      return n.exprs.some((e) => evaluate(e, labels));
  }
}
