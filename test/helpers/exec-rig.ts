/**
 * The set-up the `tappass exec -- <real agent>` e2e tests share: a fresh TAPPASS_HOME with an org,
 * project "platform" and agent "coder" whose agent-level policy denies `touch *should-not-exist*`,
 * a workspace, and (optionally) a fake HOME holding an SSH key the kernel ring must keep out.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tappass } from "./cli.ts";

export interface ExecRig {
  home: string;
  ws: string;
  /** A HOME with ~/.ssh/id_rsa, when asked for. */
  fakeHome: string;
  cleanup(): void;
}

export function execRig(name: string, opts: { agentPolicy?: string; fakeHome?: boolean; category?: boolean } = {}): ExecRig {
  const home = mkdtempSync(join(tmpdir(), `tappass-test-${name}-`));
  const ws = mkdtempSync(join(tmpdir(), `tappass-test-${name}-ws-`));
  const fakeHome = opts.fakeHome ? mkdtempSync(join(tmpdir(), `tappass-test-${name}-home-`)) : "";
  if (fakeHome) {
    mkdirSync(join(fakeHome, ".ssh"));
    writeFileSync(
      join(fakeHome, ".ssh", "id_rsa"),
      "-----BEGIN OPENSSH PRIVATE KEY-----\nSECRET-KEY-MATERIAL\n-----END OPENSSH PRIVATE KEY-----\n",
      { mode: 0o600 },
    );
  }
  writeFileSync(join(ws, "notes.txt"), "hello\n");
  writeFileSync(join(ws, "agent-policy.yaml"), opts.agentPolicy ?? 'tools:\n  dangerous_commands: ["touch *should-not-exist*"]\n');
  for (const args of [
    ["init", "--org", "acme"],
    ["project", "create", "platform"],
    [
      "agent",
      "create",
      "coder",
      "--project",
      "platform",
      "--function",
      "coding_assistant",
      ...(opts.category === false ? [] : ["--category", "source_code"]),
    ],
    ["policy", "apply", "--level", "agent=coder", join(ws, "agent-policy.yaml")],
  ]) {
    const r = tappass(args, { home });
    if (r.code !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`);
  }
  return {
    home,
    ws,
    fakeHome,
    cleanup() {
      for (const d of [home, ws, fakeHome]) if (d) rmSync(d, { recursive: true, force: true });
    },
  };
}
