/**
 * `tappass demo`: the main job on the embedded default, end to end, offline. In a temporary
 * TAPPASS_HOME it initialises an install, creates a project and an agent, applies a compliance
 * pack, serves a scripted model on loopback, runs a small agent under `tappass exec` (gateway,
 * hook governor, kernel ring) that tries an allowed action, a secret leak, a denied tool, a
 * forbidden file and an egress to a denied host, prints what was allowed and blocked and why,
 * and ends with `tappass audit verify`. Every step is the real CLI, run as a user would.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selfCommand } from "../../cli/self.ts";
import { TapPassError } from "../errors.ts";
import type { ScenarioResult } from "./agent.ts";
import { startScriptedModel } from "./scripted-model.ts";

export interface DemoReport {
  home: string;
  kernel: string;
  steps: Array<{ command: string; ok: boolean; output: string }>;
  scenarios: ScenarioResult[];
  summary: unknown;
  audit: { ok: boolean; rows?: number; first_bad_seq?: number; reason?: string };
  passed: boolean;
}

export async function runDemo(opts: { keep?: boolean; log: (line: string) => void; noKernel?: boolean }): Promise<DemoReport> {
  const home = mkdtempSync(join(tmpdir(), "tappass-demo-"));
  const workspace = mkdtempSync(join(tmpdir(), "tappass-demo-ws-"));
  const fakeHome = mkdtempSync(join(tmpdir(), "tappass-demo-home-"));
  mkdirSync(join(fakeHome, ".ssh"), { recursive: true });
  writeFileSync(join(fakeHome, ".ssh", "id_rsa"), "-----BEGIN OPENSSH PRIVATE KEY-----\n(demo key material)\n-----END OPENSSH PRIVATE KEY-----\n", { mode: 0o600 });
  writeFileSync(join(workspace, "README.md"), "# demo project\n");
  writeFileSync(join(workspace, "app.ts"), "export const answer = 42;\n");
  const env = { ...process.env, TAPPASS_HOME: home, NO_COLOR: "1" };
  const self = selfCommand();
  const steps: DemoReport["steps"] = [];

  const sh = (args: string[], extra: { cwd?: string; env?: Record<string, string | undefined> } = {}) => {
    const p = Bun.spawnSync([...self, ...args], { cwd: extra.cwd ?? workspace, env: { ...env, ...extra.env }, stdout: "pipe", stderr: "pipe" });
    return { code: p.exitCode ?? -1, stdout: Buffer.from(p.stdout).toString(), stderr: Buffer.from(p.stderr).toString() };
  };
  // The exec step must run asynchronously: the scripted model answers from this process.
  const shAsync = async (args: string[], extra: { env?: Record<string, string | undefined> } = {}) => {
    const p = Bun.spawn([...self, ...args], { cwd: workspace, env: { ...env, ...extra.env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { code, stdout, stderr };
  };
  const step = (args: string[]) => {
    const r = sh(args);
    const command = `tappass ${args.join(" ")}`;
    steps.push({ command, ok: r.code === 0, output: (r.stdout || r.stderr).trim() });
    opts.log(`${r.code === 0 ? "✔" : "✘"} ${command}`);
    if (r.code !== 0) throw new TapPassError("demo_failed", `demo step failed: ${command}: ${r.stderr.trim() || r.stdout.trim()}`, 4);
    return r;
  };

  const model = startScriptedModel();
  try {
    step(["init", "--org", "demo-org"]);
    step(["project", "create", "demo"]);
    step(["agent", "create", "demo-agent", "--project", "demo", "--function", "coding_assistant", "--category", "source_code"]);
    step(["policy", "apply", "--level", "project=demo", "--pack", "owasp-llm"]);
    step(["policy", "compile", "--agent", "demo-agent", "--out", join(home, "demo-agent.policy.json")]);

    const summaryFile = join(home, "exec-summary.json");
    const execArgs = ["exec", "--agent", "demo-agent", "--upstream-anthropic", model.url, "--summary", summaryFile, ...(opts.noKernel ? ["--no-kernel"] : []), "--", ...self, "__demo-agent"];
    opts.log(`… tappass exec --agent demo-agent -- <small agent>${opts.noKernel ? " (no kernel ring)" : ""}`);
    // The gateway (not the agent) holds the provider key; the scripted local model accepts any.
    const run = await shAsync(execArgs, { env: { HOME: fakeHome, ANTHROPIC_API_KEY: "demo-provider-key-held-by-the-gateway" } });
    const scenarios = run.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as ScenarioResult);
    let summary: { kernel?: { confined: boolean; landlock_abi: number | null; reason?: string } } = {};
    try {
      summary = JSON.parse(readFileSync(summaryFile, "utf8"));
    } catch {
      throw new TapPassError("demo_failed", `the governed agent did not complete: ${run.stderr.trim().split("\n").slice(-3).join(" | ")}`, 4);
    }
    steps.push({ command: "tappass exec --agent demo-agent -- <demo agent>", ok: run.code === 0, output: run.stderr.trim() });

    const verify = sh(["audit", "verify", "--json"]);
    let audit: DemoReport["audit"];
    try {
      audit = JSON.parse(verify.stdout);
    } catch {
      audit = { ok: false, reason: verify.stderr.trim() };
    }
    steps.push({ command: "tappass audit verify", ok: verify.code === 0, output: verify.stdout.trim() });
    const passed = scenarios.length >= 5 && scenarios.every((s) => s.outcome === s.expected) && verify.code === 0 && audit.ok === true;
    const k = summary.kernel;
    return {
      home,
      kernel: k?.confined ? `confined (Landlock ABI ${k.landlock_abi})` : `not confined (${k?.reason ?? "unknown"})`,
      steps,
      scenarios,
      summary,
      audit,
      passed,
    };
  } finally {
    await model.close();
    rmSync(workspace, { recursive: true, force: true });
    rmSync(fakeHome, { recursive: true, force: true });
    if (!opts.keep) rmSync(home, { recursive: true, force: true });
  }
}
