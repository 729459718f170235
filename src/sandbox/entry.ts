/**
 * Entry of the internal `__exec` step, kept free of the CLI framework so it starts fast:
 *   __exec --spec FILE -- CMD ARGS…   restrict and execve (inner.ts)
 *   __exec --bridge JSON              the in-namespace bridge (bridge.ts)
 * Used by src/commands/__exec.ts, and run directly as a script when TapPass runs from source.
 */
import { runBridge, runInner } from "./inner.ts";

export async function execStep(args: string[]): Promise<void> {
  const i = args.indexOf("--bridge");
  if (i !== -1) {
    await runBridge(args[i + 1] ?? "[]");
    return;
  }
  const s = args.indexOf("--spec");
  const dd = args.indexOf("--");
  const spec = s !== -1 ? args[s + 1] : undefined;
  if (!spec || dd === -1) {
    process.stderr.write("usage: __exec --spec FILE -- COMMAND [ARGS…] | __exec --bridge JSON\n");
    process.exit(2);
  }
  runInner(spec, args.slice(dd + 1));
}

if (import.meta.main) {
  execStep(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`tappass: sandbox: ${(e as Error).message}\n`);
    process.exit(125);
  });
}
