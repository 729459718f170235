/**
 * Entry of the internal `__exec` step, kept free of the CLI framework so it starts fast:
 *   __exec --spec-fd N [-- CMD ARGS…]   read the spec from fd N (until EOF), restrict and execve
 *                                       the command (given here, else the spec's `argv`)
 *   __exec --spec FILE [-- CMD ARGS…]   the same with the spec in a file (inner.ts)
 *   __exec --bridge JSON              the in-namespace bridge (bridge.ts)
 * Used by src/commands/__exec.ts, and run directly as a script when TapPass runs from source.
 */
import { runBridge, runInner } from "./inner.ts";

export async function execStep(args: string[]): Promise<void> {
  // Only what comes before "--" is the step's own; everything after is the command, untouched.
  const dd = args.indexOf("--");
  const before = dd === -1 ? args : args.slice(0, dd);
  const b = before.indexOf("--bridge");
  if (b !== -1) {
    await runBridge(before[b + 1] ?? "[]");
    return;
  }
  const command = dd === -1 ? undefined : args.slice(dd + 1);
  const f = before.indexOf("--spec-fd");
  if (f !== -1) {
    const fd = Number(before[f + 1]);
    if (!Number.isInteger(fd) || fd < 3) usage();
    runInner({ fd }, command);
  }
  const s = before.indexOf("--spec");
  const spec = s !== -1 ? before[s + 1] : undefined;
  if (!spec) usage();
  runInner({ path: spec }, command);
}

function usage(): never {
  process.stderr.write("usage: __exec (--spec-fd N | --spec FILE) [-- COMMAND [ARGS…]] | __exec --bridge JSON\n");
  process.exit(2);
}

if (import.meta.main) {
  execStep(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`tappass: sandbox: ${(e as Error).message}\n`);
    process.exit(125);
  });
}
