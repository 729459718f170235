/** The Rego AST. Every node carries its source location. */
import type { Loc } from "./errors.ts";
import type { Annotation } from "./annotations.ts";
import type { Value } from "./value.ts";

export type Term =
  | { t: "scalar"; v: Value; loc: Loc }
  | { t: "var"; name: string; loc: Loc; slot?: number }
  | { t: "ref"; head: Term; path: Term[]; loc: Loc }
  | { t: "array"; items: Term[]; loc: Loc }
  | { t: "object"; items: [Term, Term][]; loc: Loc }
  | { t: "set"; items: Term[]; loc: Loc }
  | { t: "arraycompr"; term: Term; body: Body; loc: Loc; closure?: number[]; /** template part `{e with ...}` */ tmplWith?: boolean }
  | { t: "setcompr"; term: Term; body: Body; loc: Loc; closure?: number[] }
  | { t: "objcompr"; key: Term; value: Term; body: Body; loc: Loc; closure?: number[] }
  | { t: "call"; op: string[]; args: Term[]; loc: Loc; bi?: string; fpath?: string[] }
  | { t: "template"; parts: (string | Term)[]; loc: Loc };

export interface With {
  target: Term;
  value: Term;
  loc: Loc;
}

export type ExprKind =
  | { k: "term"; term: Term }
  | { k: "unify"; a: Term; b: Term }
  | { k: "assign"; a: Term; b: Term }
  | { k: "some"; vars: Term[] }
  | { k: "somein"; key?: Term; value: Term; coll: Term }
  | { k: "every"; key?: Term; value: Term; coll: Term; body: Body };

export type Expr = ExprKind & {
  negated: boolean;
  with: With[];
  loc: Loc;
  /** Compiled: slots each side needs bound to be evaluated (unify/assign). */
  aNeeds?: number[];
  bNeeds?: number[];
  /** Compiled: closure slots (every). */
  closure?: number[];
};

export type Body = Expr[];

export interface RuleHead {
  /** Head reference: first element is the rule name var, rest are path terms. */
  ref: Term[];
  args?: Term[];
  /** Partial set element (`contains`). */
  contains?: Term;
  /** Value (`:=`/`=`), absent means true. */
  value?: Term;
  assign: boolean;
}

export interface Rule {
  default: boolean;
  head: RuleHead;
  body: Body;
  /** else chain (value + body). */
  else?: Rule;
  loc: Loc;
  file: string;
  /** METADATA annotations with scope rule or document. */
  annotations?: Annotation[];
}

export interface Import {
  path: Term; // ref
  alias?: string;
  loc: Loc;
}

export interface Module {
  file: string;
  pkg: string[];
  pkgLoc: Loc;
  imports: Import[];
  rules: Rule[];
  /** METADATA annotations with scope package or subpackages. */
  annotations?: Annotation[];
}
