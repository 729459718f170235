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
    // one line, whatever a library put in the message (a caret diagram, a listing): its first
    // line says what is wrong; --json carries the whole message
    const message = this.message.split("\n")[0]?.trimEnd().replace(/:$/, "") ?? "";
    return `error: ${where}${message}${hint}`;
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
  const fs = fileError(err);
  if (fs) return fs;
  const message = err instanceof Error ? err.message : String(err);
  return internalError(message, { cause: err, hint: "this is a bug in TapPass; please report it with the command you ran" });
}

/** What a filesystem errno means, said plainly. */
const FS_REASONS: Record<string, string> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "it is a directory",
  ENOTDIR: "a part of the path is not a directory",
  EROFS: "read-only file system",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EEXIST: "it already exists",
  ENOTEMPTY: "the directory is not empty",
  ENAMETOOLONG: "the name is too long",
  ELOOP: "too many symbolic links",
};

/**
 * A file the user named (or TAPPASS_HOME) that cannot be read or written is bad input, exit 3,
 * with the path and the reason — not "a bug in TapPass". Undefined for anything else. `as` names
 * the operation as the user sees it (writing --out, where the file system saw a temporary file).
 */
export function fileError(err: unknown, as?: { verb: string; path: string }): TapPassError | undefined {
  const e = err as { code?: unknown; path?: unknown; dest?: unknown; syscall?: unknown } | null;
  if (!e || typeof e !== "object" || typeof e.code !== "string" || typeof e.path !== "string") return undefined;
  const reason = FS_REASONS[e.code];
  if (!reason) return undefined;
  const what = as?.verb ?? (typeof e.syscall === "string" && e.syscall ? e.syscall : "access");
  const target = as?.path ?? (typeof e.dest === "string" && e.dest ? `${e.path} to ${e.dest}` : e.path);
  return inputError("file_error", `cannot ${what} ${target}: ${reason}`, {
    cause: err,
    hint: "check the path and its permissions",
    details: { errno: e.code, path: as?.path ?? e.path },
  });
}
