/**
 * The single error path, without the CLI framework (so fast paths that skip oclif print errors
 * exactly like a command does): one line on stderr (what, where, what to do), the
 * `{"error": {...}}` object on stdout with --json, the stack for internal errors under
 * TAPPASS_DEBUG, and the exit code.
 */
import { TapPassError, asTapPassError, usageError } from "../engine/errors.ts";
import { writeOut } from "./stdio.ts";

/** oclif's own parse errors (unknown flag, missing arg) are usage errors: exit 2. */
export function toTapPassError(err: unknown): TapPassError {
  if (err instanceof TapPassError) return err;
  const e = err as Error & { oclif?: { exit?: number }; code?: string };
  const name = e?.constructor?.name ?? "";
  if (/(Parse|Flag|Arg|Validation|Nonexistent|Required|Unexpected|FailedFlagValidation|CLIParse)Error/.test(name) || e?.oclif?.exit === 2) {
    return usageError(usageLine(String(e.message ?? "")), { hint: "see --help" });
  }
  return asTapPassError(err);
}

/**
 * oclif's parse error as one line: its message spans lines ("The following error occurred:" /
 * "  Missing required flag level" / "See more help with --help"), and the first alone says
 * nothing. Keeps what it says is wrong, names flags as they are typed.
 */
export function usageLine(message: string): string {
  const parts = message
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !/^(See more help with|Note:|Alternatively,)/i.test(l) && !/^The following errors? occurred:?$/i.test(l))
    .map((l) =>
      l
        .replace(/^Missing required flag (\S+)$/i, "missing required flag --$1")
        .replace(/^([\w-]+)\s{2,}(.+)$/, "$1 ($2)") // an arg's name and description
        .replace(/:$/, ""),
    );
  return parts.join(": ").replace(/\s+/g, " ") || "bad usage";
}

/** Print an error the one way TapPass does and set the exit code. */
export function reportError(err: unknown, jsonMode: boolean): void {
  const e = toTapPassError(err);
  process.stderr.write(`${e.describe()}\n`);
  if (jsonMode) writeOut(`${JSON.stringify(e.toJSON())}\n`);
  if (e.exitCode === 4 && process.env.TAPPASS_DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
  process.exitCode = e.exitCode;
}
