/**
 * Internal Rego error: an OPA error code, a message and a source location. Converted to a
 * TapPassError (exit 3, where = "file:line:col") at the public API boundary (index.ts).
 */
import { TapPassError } from "../errors.ts";

export interface Loc {
  file: string;
  line: number;
  col: number;
}

export type RegoErrorCode =
  | "rego_parse_error"
  | "rego_type_error"
  | "rego_unsafe_var_error"
  | "rego_recursion_error"
  | "rego_compile_error"
  | "eval_conflict_error"
  | "eval_type_error"
  | "eval_builtin_error"
  | "eval_limit_exceeded"
  | "eval_internal_error";

export class RegoError extends Error {
  constructor(
    readonly code: RegoErrorCode,
    message: string,
    readonly loc?: Loc,
  ) {
    super(message);
    this.name = "RegoError";
  }
  get where(): string | undefined {
    return this.loc ? `${this.loc.file}:${this.loc.line}:${this.loc.col}` : undefined;
  }
  /** OPA-style full text: "file:line: code: message". */
  full(): string {
    return `${this.loc ? `${this.loc.file}:${this.loc.line}: ` : ""}${this.code}: ${this.message}`;
  }
  toTapPass(): TapPassError {
    const hint =
      this.code === "eval_limit_exceeded"
        ? "the policy took too long; simplify it or raise the limit"
        : this.code.startsWith("rego_")
          ? "fix the policy source at that position"
          : undefined;
    return new TapPassError(this.code, this.message, 3, {
      where: this.where,
      hint,
      details: this.loc ? { location: { file: this.loc.file, row: this.loc.line, col: this.loc.col } } : undefined,
    });
  }
}
