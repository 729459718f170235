/**
 * The one error type of TapPass. Every failure a user can act on is a TapPassError carrying
 * its exit code (CONTRACT.md): 1 denied / verification or gate failed, 2 usage error,
 * 3 bad input or configuration, 4 internal error. Only src/cli/main.ts prints errors and exits.
 */
export type ExitCode = 0 | 1 | 2 | 3 | 4;

export interface ErrorOptions {
  /** What the user should do next, appended to the one-line message. */
  hint?: string;
  /** Where: a file path, or file:line:col for policy sources. */
  where?: string;
  /** Extra machine-readable fields merged into the --json error object. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class TapPassError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;
  readonly hint?: string;
  readonly where?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, exitCode: ExitCode = 3, opts: ErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "TapPassError";
    this.code = code;
    this.exitCode = exitCode;
    this.hint = opts.hint;
    this.where = opts.where;
    this.details = opts.details;
  }

  /** The one line printed to stderr: what, where, what to do. */
  describe(): string {
    const where = this.where ? `${this.where}: ` : "";
    const hint = this.hint ? ` — ${this.hint}` : "";
    return `error: ${where}${this.message}${hint}`;
  }

  toJSON(): { error: Record<string, unknown> } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.where ? { where: this.where } : {}),
        ...(this.hint ? { hint: this.hint } : {}),
        ...(this.details ?? {}),
      },
    };
  }
}

export const usageError = (message: string, opts?: ErrorOptions) =>
  new TapPassError("usage_error", message, 2, opts);
export const inputError = (code: string, message: string, opts?: ErrorOptions) =>
  new TapPassError(code, message, 3, opts);
export const deniedError = (code: string, message: string, opts?: ErrorOptions) =>
  new TapPassError(code, message, 1, opts);
export const internalError = (message: string, opts?: ErrorOptions) =>
  new TapPassError("internal_error", message, 4, opts);

/** Wrap anything thrown into a TapPassError (unknown errors are internal, exit 4). */
export function asTapPassError(err: unknown): TapPassError {
  if (err instanceof TapPassError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return internalError(message, { cause: err, hint: "this is a bug in TapPass; please report it with the command you ran" });
}
