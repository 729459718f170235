/**
 * Every TapPass command extends BaseCommand. It gives:
 *  - `--json` (stdout carries exactly one JSON document; logs/progress go to stderr)
 *  - `output(data, human)` to print a result either way
 *  - the single error path: a thrown TapPassError prints one line to stderr (what, where,
 *    what to do), the `{"error": {...}}` object on stdout with --json, and sets the exit code.
 *  - `exitWith(code)` for commands whose result is a non-zero code without an error
 *    (e.g. `audit verify` finding a broken chain).
 */
import { Command, Flags } from "@oclif/core";
import type { ExitCode } from "../engine/errors.ts";
import { reportError } from "./report.ts";
import { writeOut } from "./stdio.ts";

export class ExitSignal extends Error {
  constructor(readonly exitCode: ExitCode) {
    super(`exit ${exitCode}`);
  }
}

export abstract class BaseCommand extends Command {
  static override baseFlags = {
    json: Flags.boolean({ description: "print one JSON document on stdout", default: false }),
  };

  /** True when --json was given (set by parse). */
  protected jsonMode = false;

  protected override async parse<F extends object, B extends object, A extends object>(
    options?: Parameters<Command["parse"]>[0],
    argv?: string[],
  ): Promise<Awaited<ReturnType<Command["parse"]>> & { flags: F; args: A; nonExistentFlags?: string[] } & { _b?: B }> {
    this.jsonMode = (argv ?? this.argv).includes("--json");
    // oclif would take piped stdin as a missing argument's value (the text to scan as its FILE
    // name, a key piped to set-provider as the provider); TapPass reads stdin only where it says so
    for (const a of Object.values((options as { args?: Record<string, { ignoreStdin?: boolean }> } | undefined)?.args ?? {})) a.ignoreStdin = true;
    // biome-ignore lint/suspicious/noExplicitAny: oclif's generic parse signature
    return (await super.parse(options as any, argv)) as any;
  }

  /** Print a result: JSON with --json, otherwise the human rendering (or JSON when none is given). */
  protected output<T>(data: T, human?: (data: T) => string): void {
    if (this.jsonMode || !human) {
      writeOut(`${JSON.stringify(data, null, this.jsonMode ? 0 : 2)}\n`);
    } else {
      const text = human(data);
      if (text.length > 0) writeOut(text.endsWith("\n") ? text : `${text}\n`);
    }
  }

  /** A progress / status line on stderr (never stdout). */
  protected note(message: string): void {
    process.stderr.write(`${message}\n`);
  }

  /** End the command with this exit code after output was printed. */
  protected exitWith(code: ExitCode): never {
    throw new ExitSignal(code);
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    if (err instanceof ExitSignal) {
      process.exitCode = err.exitCode;
      return;
    }
    reportError(err, this.jsonMode);
  }
}

export { toTapPassError } from "./report.ts";
