/**
 * Recursive-descent Rego v1 parser: tokens → AST (every node with file:line:col).
 * Operator precedence (low → high): := =, in, == != < <= > >=, |, &, + -, * / %.
 */
import type { Body, Expr, ExprKind, Import, Module, Rule, RuleHead, Term, With } from "./ast.ts";
import { type Loc, RegoError } from "./errors.ts";
import { type Annotation, type AnnotTarget, attachAnnotations } from "./annotations.ts";
import { lex, type Token, type Tokens } from "./lexer.ts";
import { numFromString } from "./value.ts";

const KEYWORDS = new Set(["package", "import", "default", "else", "not", "some", "in", "every", "with", "if", "contains", "as", "true", "false", "null"]);

const REL: Record<string, string> = { "==": "equal", "!=": "neq", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte" };
const ARITH: Record<string, string> = { "+": "plus", "-": "minus" };
const FACTOR: Record<string, string> = { "*": "mul", "/": "div", "%": "rem" };

export function parseModule(src: string, file: string): Module {
  const p = new Parser(lex(src, file), file, src);
  return p.module();
}

export function parseQuery(src: string, file = "query"): Body {
  const p = new Parser(lex(src, file), file, src);
  const body = p.query(true);
  if (body.length === 0) p.fail("empty query");
  return body;
}

/** Parse a single term/expression (used for template-string parts). */
function parseTemplateExpr(src: string, file: string, line: number, col: number): Term {
  const toks = lex(src, file);
  for (const t of toks) {
    if (t.line === 1) t.col += col - 1;
    t.line += line - 1;
  }
  const p = new Parser(toks, file, src);
  const t = p.exprTerm();
  const withs = p.withs();
  if (p.peek().kind !== "eof") p.fail(`unexpected ${p.describe(p.peek())} in template expression`);
  if (withs.length === 0) return t;
  // `{expr with ...}`: evaluated as a one-expression comprehension, so the modifiers apply to it only
  const v: Term = { t: "var", name: "$tw", loc: t.loc };
  return { t: "arraycompr", term: v, body: [{ k: "unify", a: v, b: t, negated: false, with: withs, loc: t.loc }], loc: t.loc, tmplWith: true };
}

class Parser {
  private i = 0;
  /** true: newlines end expressions (body level); false: inside brackets. */
  private nlStack: boolean[] = [true];
  private noOr = false;
  constructor(
    private toks: Token[],
    private file: string,
    private src: string,
  ) {}

  peek(o = 0): Token {
    return this.toks[Math.min(this.i + o, this.toks.length - 1)] as Token;
  }
  next(): Token {
    const t = this.peek();
    if (this.i < this.toks.length - 1) this.i++;
    return t;
  }
  loc(t: Token = this.peek()): Loc {
    return { file: this.file, line: t.line, col: t.col };
  }
  describe(t: Token): string {
    if (t.kind === "eof") return "eof token";
    if (t.kind === "ident") return KEYWORDS.has(t.text) ? `${t.text} keyword` : "ident token";
    if (t.kind === "punct") return `${t.text} token`;
    return `${t.kind} token`;
  }
  fail(msg: string, t: Token = this.peek()): never {
    throw new RegoError("rego_parse_error", msg, this.loc(t));
  }
  isP(text: string, o = 0): boolean {
    const t = this.peek(o);
    return t.kind === "punct" && t.text === text;
  }
  /** A keyword token (not when used as a ref head like `if.foo`). */
  isKw(text: string, o = 0): boolean {
    const t = this.peek(o);
    if (t.kind !== "ident" || t.text !== text) return false;
    const n = this.peek(o + 1);
    return !(n.kind === "punct" && n.text === "." && !n.ws);
  }
  private kwAsRef(o = 0): boolean {
    const n = this.peek(o + 1);
    return n.kind === "punct" && (n.text === "." || n.text === "[") && !n.ws;
  }
  expectP(text: string): Token {
    if (!this.isP(text)) this.fail(`unexpected ${this.describe(this.peek())}: expected ${text}`);
    return this.next();
  }
  /** True when the current token starts a new line in a newline-significant context. */
  private brk(): boolean {
    return this.peek().nl && (this.nlStack[this.nlStack.length - 1] ?? true);
  }
  private inside<T>(sig: boolean, f: () => T): T {
    this.nlStack.push(sig);
    const saveOr = this.noOr;
    this.noOr = false;
    try {
      return f();
    } finally {
      this.nlStack.pop();
      this.noOr = saveOr;
    }
  }

  // ---- module ------------------------------------------------------------------------------

  module(): Module {
    if (!this.isKw("package")) this.fail(`unexpected ${this.describe(this.peek())}: expected package`, this.peek());
    const pkgTok = this.next();
    const pkg = this.refPath("package");
    const imports: Import[] = [];
    const rules: Rule[] = [];
    while (this.peek().kind !== "eof") {
      if (this.isKw("import")) {
        const t = this.next();
        const start = this.peek();
        const path = this.importRef();
        let alias: string | undefined;
        if (this.isKw("as")) {
          this.next();
          const a = this.next();
          if (a.kind !== "ident" || KEYWORDS.has(a.text)) this.fail(`unexpected ${this.describe(a)}: expected ident`, a);
          alias = a.text;
        }
        imports.push({ path, alias, loc: this.loc(t) });
        void start;
        continue;
      }
      if (this.isKw("package")) this.fail("unexpected package keyword: only one package per module");
      rules.push(...this.rule());
    }
    const mod: Module = { file: this.file, pkg, pkgLoc: this.loc(pkgTok), imports, rules };
    const comments = (this.toks as Tokens).comments;
    if (comments?.some((c) => c.text.trim() === "METADATA")) {
      const targets: AnnotTarget[] = [
        { line: pkgTok.line, kind: "package", add: (a: Annotation) => void (mod.annotations ??= []).push(a) } as AnnotTarget,
        ...imports.map((im): AnnotTarget => ({ line: im.loc.line, kind: "import", add: () => {} })),
        ...rules.map((r): AnnotTarget => ({ line: r.loc.line, kind: "rule", add: (a: Annotation) => void (r.annotations ??= []).push(a) })),
      ].sort((a, b) => a.line - b.line);
      attachAnnotations(comments, targets, this.file);
    }
    return mod;
  }

  private refPath(what: string): string[] {
    const t = this.next();
    if (t.kind !== "ident") this.fail(`unexpected ${this.describe(t)}: expected ident`, t);
    const out = [t.text];
    for (;;) {
      if (this.isP(".") && !this.peek().ws) {
        this.next();
        const n = this.next();
        if (n.kind !== "ident") this.fail(`unexpected ${this.describe(n)}: expected ident`, n);
        out.push(n.text);
      } else if (this.isP("[") && !this.peek().ws) {
        this.next();
        const s = this.next();
        if (s.kind !== "string" && s.kind !== "rawstring") this.fail(`invalid ${what} path: expected string`, s);
        out.push(s.text);
        this.expectP("]");
      } else break;
    }
    return out;
  }

  private importRef(): Term {
    const t = this.peek();
    const names = this.refPath("import");
    const head: Term = { t: "var", name: names[0] as string, loc: this.loc(t) };
    if (names.length === 1) return { t: "ref", head, path: [], loc: this.loc(t) };
    return { t: "ref", head, path: names.slice(1).map((n) => ({ t: "scalar", v: n, loc: this.loc(t) })), loc: this.loc(t) };
  }

  private rule(): Rule[] {
    const start = this.peek();
    let isDefault = false;
    if (this.isKw("default")) {
      this.next();
      isDefault = true;
    }
    const head = this.ruleHead(isDefault);
    let body: Body = [];
    if (isDefault) {
      if (head.value === undefined) this.fail("default rule must have a value", start);
      return [{ default: true, head, body: [], loc: this.loc(start), file: this.file }];
    }
    body = this.ruleBody(true) ?? [];
    const rule: Rule = { default: false, head, body, loc: this.loc(start), file: this.file };
    // else chain
    let cur = rule;
    while (this.isKw("else")) {
      const et = this.next();
      let value: Term | undefined;
      if (this.isP(":=") || this.isP("=")) {
        this.next();
        value = this.exprTerm();
      }
      const ebody = this.ruleBody(false) ?? [];
      const er: Rule = {
        default: false,
        head: { ...head, value, contains: undefined, assign: true },
        body: ebody,
        loc: this.loc(et),
        file: this.file,
      };
      cur.else = er;
      cur = er;
    }
    return [rule];
  }

  /** `if { ... }`, `if expr`, `{ ... }`, or nothing. */
  private ruleBody(_first: boolean): Body | undefined {
    if (this.isKw("if")) {
      this.next();
      if (this.isP("{")) {
        // like OPA: `if {...}` is first tried as a single literal (e.g. an object comprehension);
        // a set literal or anything that does not parse as one expression is a body block.
        const save = this.i;
        try {
          const lit = this.literal();
          const single = lit.k === "term" && !lit.negated && lit.term.t === "set";
          const n = this.peek();
          if (!single && (n.kind === "eof" || n.nl || this.isKw("else"))) return [lit];
        } catch (e) {
          if (!(e instanceof RegoError)) throw e;
        }
        this.i = save;
        return this.block();
      }
      const lit = this.literal();
      return [lit];
    }
    if (this.isP("{")) return this.block();
    return undefined;
  }

  private block(): Body {
    this.expectP("{");
    const body = this.inside(true, () => this.query(false));
    this.expectP("}");
    if (body.length === 0) this.fail("found empty body");
    return body;
  }

  private ruleHead(isDefault: boolean): RuleHead {
    const t = this.next();
    if (t.kind !== "ident" || (KEYWORDS.has(t.text) && !(this.isP(".") && !this.peek().ws))) this.fail(`unexpected ${this.describe(t)}: expected ident`, t);
    const ref: Term[] = [{ t: "var", name: t.text, loc: this.loc(t) }];
    for (;;) {
      if (this.isP(".") && !this.peek().ws) {
        this.next();
        const n = this.next();
        if (n.kind !== "ident") this.fail(`unexpected ${this.describe(n)}: expected ident`, n);
        ref.push({ t: "scalar", v: n.text, loc: this.loc(n) });
      } else if (this.isP("[") && !this.peek().ws) {
        this.next();
        ref.push(this.inside(false, () => this.exprTerm()));
        this.expectP("]");
      } else break;
    }
    const head: RuleHead = { ref, assign: false };
    if (this.isP("(") && !this.peek().ws) {
      this.next();
      head.args = this.inside(false, () => this.termList(")"));
      this.expectP(")");
    }
    if (this.isKw("contains")) {
      if (isDefault) this.fail("default rules cannot use contains");
      this.next();
      head.contains = this.exprTerm();
    } else if (this.isP(":=") || this.isP("=")) {
      head.assign = this.next().text === ":=";
      head.value = this.exprTerm();
    }
    return head;
  }

  // ---- queries ---------------------------------------------------------------------------

  /** Literals separated by `;` or newlines, until `}` or eof. */
  query(top: boolean, close = "}"): Body {
    const out: Body = [];
    for (;;) {
      while (this.isP(";")) this.next();
      const t = this.peek();
      if (t.kind === "eof" || (!top && this.isP(close))) break;
      out.push(this.literal());
      const n = this.peek();
      if (this.isP(";")) continue;
      if (n.kind === "eof" || (!top && this.isP(close))) continue;
      if (!n.nl) this.fail(`unexpected ${this.describe(n)}`, n);
    }
    return out;
  }

  literal(): Expr {
    const start = this.peek();
    let expr: ExprKind;
    let negated = false;
    if (this.isKw("some")) {
      this.next();
      expr = this.someDecl();
    } else if (this.isKw("every")) {
      this.next();
      expr = this.every();
    } else {
      if (this.isKw("not")) {
        this.next();
        negated = true;
      }
      expr = this.exprLiteral();
    }
    const withs = this.withs();
    return { ...expr, negated, with: withs, loc: this.loc(start) } as Expr;
  }

  /** `with target as value` modifiers (they may continue on following lines). */
  withs(): With[] {
    const withs: With[] = [];
    while (this.isKw("with")) {
      const wt = this.next();
      const target = this.withTarget();
      if (!this.isKw("as")) this.fail(`unexpected ${this.describe(this.peek())}: expected as`);
      this.next();
      const value = this.exprTerm();
      withs.push({ target, value, loc: this.loc(wt) });
    }
    return withs;
  }

  private withTarget(): Term {
    const t = this.termWithSuffix();
    if (t.t !== "var" && t.t !== "ref") this.fail("with target must be a reference");
    return t;
  }

  private someDecl(): ExprKind {
    // some x, y   |   some x in xs   |   some k, v in xs
    const first = this.relation();
    const terms = [first];
    while (this.isP(",")) {
      this.next();
      terms.push(this.relation());
    }
    if (this.isKw("in")) {
      this.next();
      if (terms.length > 2) this.fail("unexpected , token: expected at most two terms before in");
      const coll = this.relation();
      if (terms.length === 2) return { k: "somein", key: terms[0], value: terms[1] as Term, coll };
      return { k: "somein", value: terms[0] as Term, coll };
    }
    // `some x in xs` may have been parsed as member_2 call by relation? (no: relation excludes in)
    for (const t of terms) if (t.t !== "var") this.fail("expected var in some declaration", this.peek());
    return { k: "some", vars: terms };
  }

  private every(): ExprKind {
    const a = this.relation();
    let key: Term | undefined;
    let value = a;
    if (this.isP(",")) {
      this.next();
      key = a;
      value = this.relation();
    }
    if (!this.isKw("in")) this.fail(`unexpected ${this.describe(this.peek())}: expected in`);
    this.next();
    const coll = this.relation();
    if (key && key.t !== "var") this.fail("every key must be a var");
    if (value.t !== "var") this.fail("every value must be a var");
    const body = this.block();
    return { k: "every", key, value, coll, body };
  }

  private exprLiteral(): ExprKind {
    let lhs = this.termIn();
    // `k, v in coll` membership at literal level
    if (this.isP(",") && !this.brk()) {
      this.next();
      const v = this.relation();
      if (!this.isKw("in")) this.fail(`unexpected ${this.describe(this.peek())}: expected in`);
      const it = this.next();
      const coll = this.relation();
      lhs = { t: "call", op: ["internal", "member_3"], args: [lhs, v, coll], loc: this.loc(it) };
      while (this.isKw("in") && !this.brk()) {
        const t2 = this.next();
        lhs = { t: "call", op: ["internal", "member_2"], args: [lhs, this.relation()], loc: this.loc(t2) };
      }
    }
    if ((this.isP(":=") || this.isP("=")) && !this.brk()) {
      const op = this.next().text;
      const rhs = this.termIn();
      return op === ":=" ? { k: "assign", a: lhs, b: rhs } : { k: "unify", a: lhs, b: rhs };
    }
    return { k: "term", term: lhs };
  }

  /** A full expression usable as a term (no := / = at top). */
  exprTerm(): Term {
    return this.termIn();
  }

  private termIn(): Term {
    let lhs = this.relation();
    while (this.isKw("in") && !this.brk()) {
      const t = this.next();
      const rhs = this.relation();
      lhs = { t: "call", op: ["internal", "member_2"], args: [lhs, rhs], loc: this.loc(t) };
    }
    return lhs;
  }

  private binary(sub: () => Term, ops: Record<string, string>): Term {
    let lhs = sub();
    for (;;) {
      const t = this.peek();
      if (t.kind !== "punct" || !(t.text in ops) || this.brk()) return lhs;
      if (t.text === "|" && this.noOr) return lhs;
      this.next();
      const rhs = sub();
      lhs = { t: "call", op: [ops[t.text] as string], args: [lhs, rhs], loc: lhs.loc };
    }
  }

  private relation(): Term {
    return this.binary(() => this.or(), REL);
  }
  private or(): Term {
    return this.binary(() => this.and(), { "|": "or" });
  }
  private and(): Term {
    return this.binary(() => this.arith(), { "&": "and" });
  }
  private arith(): Term {
    return this.binary(() => this.factor(), ARITH);
  }
  private factor(): Term {
    return this.binary(() => this.termWithSuffix(), FACTOR);
  }

  private termList(close: string): Term[] {
    const out: Term[] = [];
    while (!this.isP(close)) {
      out.push(this.exprTerm());
      if (this.isP(",")) this.next();
      else break;
    }
    return out;
  }

  private termWithSuffix(): Term {
    return this.suffixes(this.primary());
  }

  private suffixes(term: Term): Term {
    for (;;) {
      const t = this.peek();
      if (t.kind !== "punct" || t.ws) return term;
      if (t.text === ".") {
        this.next();
        const n = this.next();
        if (n.kind !== "ident") this.fail(`unexpected ${this.describe(n)}: expected ident`, n);
        term = this.appendRef(term, { t: "scalar", v: n.text, loc: this.loc(n) });
      } else if (t.text === "[") {
        this.next();
        const idx = this.inside(false, () => this.exprTerm());
        this.expectP("]");
        term = this.appendRef(term, idx);
      } else if (t.text === "(") {
        const op = this.callName(term);
        if (!op) return term;
        this.next();
        const args = this.inside(false, () => this.termList(")"));
        this.expectP(")");
        term = { t: "call", op, args, loc: term.loc };
      } else return term;
    }
  }

  private callName(term: Term): string[] | undefined {
    if (term.t === "var") return [term.name];
    if (term.t === "ref" && term.head.t === "var") {
      const out = [term.head.name];
      for (const p of term.path) {
        if (p.t !== "scalar" || typeof p.v !== "string") return undefined;
        out.push(p.v);
      }
      return out;
    }
    return undefined;
  }

  private appendRef(term: Term, p: Term): Term {
    if (term.t === "ref") return { t: "ref", head: term.head, path: [...term.path, p], loc: term.loc };
    return { t: "ref", head: term, path: [p], loc: term.loc };
  }

  primary(): Term {
    const t = this.peek();
    const loc = this.loc(t);
    switch (t.kind) {
      case "number": {
        this.next();
        const v = numFromString(t.text);
        if (v === undefined) this.fail("invalid number", t);
        return { t: "scalar", v, loc };
      }
      case "string":
      case "rawstring":
        this.next();
        return { t: "scalar", v: t.text, loc };
      case "template": {
        this.next();
        const parts: (string | Term)[] = [];
        for (const p of t.parts ?? []) {
          if ("lit" in p) parts.push(p.lit);
          else parts.push(parseTemplateExpr(p.src, this.file, p.line, p.col));
        }
        return { t: "template", parts, loc };
      }
      case "ident": {
        if (KEYWORDS.has(t.text) && this.kwAsRef()) {
          this.next();
          return { t: "var", name: t.text, loc };
        }
        if (t.text === "true" || t.text === "false") {
          this.next();
          return { t: "scalar", v: t.text === "true", loc };
        }
        if (t.text === "null") {
          this.next();
          return { t: "scalar", v: null, loc };
        }
        if (t.text === "set" && this.isP("(", 1) && this.isP(")", 2)) {
          this.next();
          this.next();
          this.next();
          return { t: "set", items: [], loc };
        }
        if (KEYWORDS.has(t.text) && !(t.text === "contains" && this.isP("(", 1) && !this.peek(1).ws)) this.fail(`unexpected ${this.describe(t)}`, t);
        this.next();
        return { t: "var", name: t.text, loc };
      }
      case "punct":
        break;
      default:
        this.fail(`unexpected ${this.describe(t)}`, t);
    }
    switch (t.text) {
      case "-": {
        const n = this.peek(1);
        this.next();
        if (n.kind === "number" && !n.ws) {
          this.next();
          const v = numFromString(`-${n.text}`);
          if (v === undefined) this.fail("invalid number", n);
          return { t: "scalar", v, loc };
        }
        const operand = this.termWithSuffix();
        return { t: "call", op: ["minus"], args: [{ t: "scalar", v: 0, loc }, operand], loc };
      }
      case "(": {
        this.next();
        const e = this.inside(false, () => {
          let x = this.exprTerm();
          if (this.isP(",")) {
            this.next();
            const v = this.relation();
            if (!this.isKw("in")) this.fail(`unexpected ${this.describe(this.peek())}: expected in`);
            const it = this.next();
            x = { t: "call", op: ["internal", "member_3"], args: [x, v, this.relation()], loc: this.loc(it) };
            while (this.isKw("in")) {
              const t2 = this.next();
              x = { t: "call", op: ["internal", "member_2"], args: [x, this.relation()], loc: this.loc(t2) };
            }
          }
          return x;
        });
        this.expectP(")");
        return e;
      }
      case "[":
        return this.arrayLit();
      case "{":
        return this.braceLit();
    }
    return this.fail(`unexpected ${this.describe(t)}`, t);
  }

  private arrayLit(): Term {
    const open = this.next();
    const loc = this.loc(open);
    return this.inside(false, () => {
      if (this.isP("]")) {
        this.next();
        return { t: "array", items: [], loc } as Term;
      }
      const first = this.headTerm();
      if (this.isP("|")) {
        this.next();
        const body = this.inside(true, () => this.query(false, "]"));
        this.expectBodyEnd("]");
        return { t: "arraycompr", term: first, body, loc } as Term;
      }
      const items = [first];
      while (this.isP(",")) {
        this.next();
        if (this.isP("]")) break;
        items.push(this.exprTerm());
      }
      this.expectP("]");
      return { t: "array", items, loc } as Term;
    });
  }

  private expectBodyEnd(close: string): void {
    // comprehension bodies end at the closing bracket
    this.expectP(close);
  }

  private headTerm(): Term {
    const save = this.noOr;
    this.noOr = true;
    try {
      return this.exprTerm();
    } finally {
      this.noOr = save;
    }
  }

  private braceLit(): Term {
    const open = this.next();
    const loc = this.loc(open);
    return this.inside(false, () => {
      if (this.isP("}")) {
        this.next();
        return { t: "object", items: [], loc } as Term;
      }
      const first = this.headTerm();
      if (this.isP(":")) {
        this.next();
        const v = this.headTerm();
        if (this.isP("|")) {
          this.next();
          const body = this.inside(true, () => this.query(false));
          this.expectP("}");
          return { t: "objcompr", key: first, value: v, body, loc } as Term;
        }
        const items: [Term, Term][] = [[first, v]];
        while (this.isP(",")) {
          this.next();
          if (this.isP("}")) break;
          const k = this.exprTerm();
          this.expectP(":");
          items.push([k, this.exprTerm()]);
        }
        this.expectP("}");
        return { t: "object", items, loc } as Term;
      }
      if (this.isP("|")) {
        this.next();
        const body = this.inside(true, () => this.query(false));
        this.expectP("}");
        return { t: "setcompr", term: first, body, loc } as Term;
      }
      const items = [first];
      while (this.isP(",")) {
        this.next();
        if (this.isP("}")) break;
        items.push(this.exprTerm());
      }
      this.expectP("}");
      return { t: "set", items, loc } as Term;
    });
  }
}
