/**
 * `tappass exec -- COMMAND`: run an agent with every enforcement position in place.
 *   1. compile (and sign) the agent's policy
 *   2. start the LLM gateway and the hook governor on ephemeral loopback ports
 *   3. give the agent a capability token instead of provider keys
 *   4. render the harness config (Claude Code / Codex / Gemini CLI) into a private directory
 *   5. apply the kernel ring (Landlock + seccomp + network namespace + egress proxy) unless
 *      --no-kernel, and refuse to run unconfined under an enforcing policy otherwise
 *   6. run the command, pass its exit code through, clean up, summarise
 */
import { randomBytes, randomUUID } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { selfCommand } from "../../cli/self.ts";
import { providers } from "../../providers/index.ts";
import { loadKeys } from "../crypto/keys.ts";
import { issueToken } from "../crypto/tokens.ts";
import { TapPassError, inputError } from "../errors.ts";
import { startHookServer } from "../harness/hook-server.ts";
import { openState } from "../store/state.ts";
import { governedEnv } from "./agent-env.ts";
import { harnessOf, wireHarness } from "./harness.ts";
import type { ExecSummary } from "./summary.ts";

export interface ExecOptions {
  agent?: string;
  argv: string[];
  noKernel: boolean;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  upstreams?: { openai?: string; anthropic?: string };
  /** stdio of the governed command (default inherit). */
  stdio?: ["inherit" | "pipe" | "ignore", "inherit" | "pipe" | "ignore", "inherit" | "pipe" | "ignore"];
  /** Test hooks for the egress proxy (name resolution, private addresses). */
  egress?: { resolve?: (host: string) => Promise<string[]>; allowPrivate?: boolean; ports?: number[] };
  /** Progress lines (stderr). */
  log?: (line: string) => void;
  /** An extra .mcp.json-style file (the project's .mcp.json is read too). */
  mcpConfig?: string;
  /** Token lifetime; default: the policy's lifetime, capped at 12 h. */
  tokenTtlSeconds?: number;
}

export interface ExecResult extends ExecSummary {
  stdout?: string;
  stderr?: string;
}

/** Resolve argv[0] on PATH (exec needs the real file to let it through the kernel ring). */
export function resolveCommand(cmd: string, path = process.env.PATH ?? ""): string | null {
  if (cmd.includes("/")) return existsSync(cmd) ? resolve(cmd) : null;
  for (const dir of path.split(":")) {
    if (!dir) continue;
    const p = join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return null;
}

/** The directories an executable needs to be readable: its real location and its package root. */
function executableTrees(exe: string): string[] {
  const real = realpathSync(exe);
  const out = [dirname(real)];
  const nm = real.lastIndexOf("/node_modules/");
  if (nm >= 0) out.push(real.slice(0, nm + "/node_modules".length));
  return out;
}

export async function runExec(opts: ExecOptions): Promise<ExecResult> {
  const log = opts.log ?? (() => {});
  const t0 = performance.now();
  // TAPPASS_DEBUG=1 prints where start-up time goes.
  let tMark = t0;
  const mark = (what: string) => {
    if (!process.env.TAPPASS_DEBUG) return;
    const now = performance.now();
    log(`tappass: ${what} +${(now - tMark).toFixed(1)} ms`);
    tMark = now;
  };
  const baseEnv = opts.env ?? process.env;
  const cwd = resolve(opts.cwd ?? process.cwd());
  if (opts.argv.length === 0) throw new TapPassError("usage_error", "no command given", 2, { hint: "tappass exec [--agent NAME] -- COMMAND [ARGS...]" });
  const exe = resolveCommand(opts.argv[0] as string, baseEnv.PATH);
  if (!exe) throw inputError("command_not_found", `command not found: ${opts.argv[0]}`, { hint: "check the name, or give its full path" });

  const [{ compileForAgent, ensureDefaultAgent }, { createPipeline, sharedAuditLog }, { startGateway }, sandbox] = await Promise.all([
    import("../policy/index.ts"),
    import("../pipeline/index.ts"),
    import("../gateway/index.ts"),
    import("../../sandbox/index.ts"),
  ]);

  mark("engine loaded");
  // 1. policy
  const db = openState();
  const keys = loadKeys();
  const agent = opts.agent ?? ensureDefaultAgent(db);
  const envelope = compileForAgent(db, agent);
  const policy = envelope.payload;
  const sessionId = randomUUID();
  mark("policy compiled and signed");

  // kernel ring decision before anything starts
  const probe = sandbox.probeKernel();
  mark("kernel probed");
  const missing = sandbox.missingFeatures(probe);
  const enforcing = policy.pipeline.mode === "enforce" || policy.pipeline.mode === "lockdown";
  if (!opts.noKernel && missing.length > 0) {
    throw inputError("kernel_ring_unavailable", `refusing to run "${opts.argv[0]}" unconfined under an ${policy.pipeline.mode} policy: missing ${missing.join(", ")}`, {
      hint: "install what is missing, or pass --no-kernel to run without the kernel ring (recorded in the audit log)",
    });
  }
  if (opts.noKernel && enforcing) log(`tappass: --no-kernel: "${opts.argv[0]}" runs WITHOUT kernel confinement (gateway, broker and hooks still enforce)`);

  // 2. servers
  const audit = sharedAuditLog(db, keys);
  const pipeline = createPipeline({ envelope, db, keys, audit });
  const gateway = await startGateway({ envelope, db, keys, port: 0, upstreams: opts.upstreams ?? {}, pipeline, env: baseEnv });
  // Tokens live as long as the policy's verify_capability_token allows (5 min by default); a
  // harness that can renew (Claude Code's apiKeyHelper) asks the governor for fresh ones.
  const ttl = opts.tokenTtlSeconds ?? maxTokenTtl(policy);
  const mint = () => issueToken(keys, { agent, session_id: sessionId, sandbox_id: policy.sandbox_id, policy_version: policy.policy_version, ttlSeconds: ttl });
  const token = await mint();
  const sessionSecret = randomBytes(32).toString("base64url");
  mark("gateway started, token minted");
  const hooks = startHookServer({ pipeline, envelope, keys, agent, sandbox_id: policy.sandbox_id, renew: { secret: sessionSecret, issue: mint } });

  // MCP servers: brokered on this side of the kernel ring.
  const { loadMcpConfig, projectMcpFiles, startMcp } = await import("./mcp.ts");
  const mcp = await startMcp({
    config: loadMcpConfig(projectMcpFiles(cwd, opts.mcpConfig)),
    envelope,
    db,
    keys,
    agentCommand: [...selfCommand(), "agent"],
    sessionSecret,
    cwd,
    log,
  }).catch(async (e) => {
    await Promise.allSettled([gateway.close(), hooks.close()]);
    throw e;
  });

  mark("hook governor and MCP brokers started");
  // 4. private render directory (0700): harness config + the read-only policy file
  const dir = mkdtempSync(join(tmpdir(), "tappass-exec-"));
  chmodSync(dir, 0o700);
  const policyFile = join(dir, "policy.json");
  const egressLog: Array<{ host: string; port: number; allowed: boolean; reason: string }> = [];
  const egressAudits: Array<Promise<string | undefined>> = [];
  try {
    writeFileSync(policyFile, JSON.stringify(envelope), { mode: 0o444 });
    const harness = harnessOf(opts.argv);
    const caps = {
      agentCommand: [...selfCommand(), "agent"],
      gatewayUrl: gateway.url,
      mcpServers: mcp.servers,
      workspace: cwd,
      home: baseEnv.HOME ?? homedir(),
      hookTimeoutSeconds: 10,
      kernelRing: !opts.noKernel,
    };
    if (harness !== "generic") {
      for (const f of providers[harness]!.render(policy, caps)) {
        const p = join(dir, f.path);
        mkdirSync(dirname(p), { recursive: true });
        writeFileSync(p, f.content, { mode: f.mode ?? 0o644 });
      }
    }
    // Harness state directories the agent must write (sessions, logs): private to this run.
    const writable = [join(dir, "claude-home"), join(dir, "codex")];
    for (const w of writable) mkdirSync(w, { recursive: true });
    const wired = wireHarness(harness, [exe, ...opts.argv.slice(1)], dir, Object.keys(mcp.servers).length > 0);
    const env = governedEnv({
      base: baseEnv,
      token,
      gatewayUrl: gateway.url,
      hookUrl: hooks.url,
      agent,
      sessionId,
      sandboxId: policy.sandbox_id,
      policyFile,
      extra: { ...wired.env, ...mcp.env, TAPPASS_SESSION_SECRET: sessionSecret, ...(process.env.TAPPASS_SELF ? { TAPPASS_SELF: process.env.TAPPASS_SELF } : {}) },
    });
    // Claude Code prefers ANTHROPIC_API_KEY over its apiKeyHelper: leave it unset so it renews.
    if (harness === "claude-code") delete env.ANTHROPIC_API_KEY;

    mark("harness config rendered");
    // 5. + 6. run
    log(`tappass: ${agent} (policy v${policy.policy_version}) → ${opts.argv.join(" ")}`);
    let exitCode: number;
    let stdout: string | undefined;
    let stderr: string | undefined;
    const stdio = opts.stdio ?? ["inherit", "inherit", "inherit"];
    let confined = false;
    if (!opts.noKernel) {
      const spec = sandbox.specFromPolicy(policy, {
        workspace: cwd,
        gatewayPort: gateway.port,
        brokerPort: hooks.port,
        keyringPath: policyFile,
        env,
        home: caps.home,
        extraReadOnly: [dir, ...executableTrees(exe), ...selfTrees()],
      });
      spec.fs.read_write.push(...writable);
      spec.bridged_ports.push(...mcp.ports);
      spec.connect_tcp_ports.push(...mcp.ports);
      const proc = await sandbox.spawnConfined(spec, wired.argv, {
        stdio,
        resolve: opts.egress?.resolve,
        allowPrivate: opts.egress?.allowPrivate,
        egressPorts: opts.egress?.ports,
        onEgress: (e) => {
          egressLog.push({ host: e.host, port: e.port, allowed: e.allowed, reason: e.reason });
          egressAudits.push(auditEgress(audit, { agent, sessionId, sandboxId: policy.sandbox_id, policyVersion: policy.policy_version }, e));
        },
      });
      confined = true;
      mark("sandbox spawned");
      [stdout, stderr] = await Promise.all([proc.stdout ? new Response(proc.stdout).text() : undefined, proc.stderr ? new Response(proc.stderr).text() : undefined]);
      exitCode = (await proc.exited).exitCode;
    } else {
      const child = Bun.spawn(wired.argv, { cwd, env, stdio });
      [stdout, stderr] = await Promise.all([
        child.stdout instanceof ReadableStream ? new Response(child.stdout).text() : undefined,
        child.stderr instanceof ReadableStream ? new Response(child.stderr).text() : undefined,
      ]);
      exitCode = await child.exited;
    }

    const g = gateway.stats();
    const egressTraces = (await Promise.all(egressAudits)).filter((t): t is string => !!t);
    const denials: ExecSummary["denials"] = [
      ...hooks.decisions.filter((d) => d.decision === "deny").map((d) => ({ surface: "hook", what: d.step ?? "tool", reason: d.reason, trace_id: d.trace_id })),
      ...egressLog.filter((e) => !e.allowed).map((e) => ({ surface: "egress", what: `${e.host}:${e.port}`, reason: e.reason })),
      ...(g.denials ?? []).map((d: { step: string; reason: string; trace_id?: string }) => ({ surface: "llm", what: d.step, reason: d.reason, trace_id: d.trace_id })),
    ];
    return {
      agent,
      session_id: sessionId,
      policy_version: policy.policy_version,
      command: opts.argv,
      exit_code: exitCode,
      duration_ms: performance.now() - t0,
      kernel: { confined, landlock_abi: probe.landlock_abi, reason: confined ? undefined : opts.noKernel ? "--no-kernel" : missing.join(", ") },
      llm: { calls: g.calls, denied: g.denied, tokens_in: g.tokens_in, tokens_out: g.tokens_out, cost_usd: g.cost_usd },
      hooks: { calls: hooks.decisions.length, denied: hooks.decisions.filter((d) => d.decision === "deny").length },
      egress: { attempts: egressLog.length, denied: egressLog.filter((e) => !e.allowed).length },
      denials,
      trace_ids: [...g.trace_ids, ...hooks.decisions.map((d) => d.trace_id).filter((t): t is string => !!t), ...egressTraces],
      stdout,
      stderr,
    };
  } finally {
    const timed = (name: string, p: Promise<unknown>) => {
      const t = performance.now();
      return p.finally(() => process.env.TAPPASS_DEBUG && log(`tappass: closed ${name} in ${(performance.now() - t).toFixed(0)} ms`));
    };
    await Promise.allSettled([timed("gateway", gateway.close()), timed("hooks", hooks.close()), timed("mcp", mcp.close())]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Where this TapPass itself lives (the hook re-runs it inside the sandbox). */
function selfTrees(): string[] {
  const self = selfCommand();
  return self.flatMap((p) => (p.startsWith("/") && existsSync(p) ? executableTrees(p) : [])).concat(self.length > 1 ? [resolve(dirname(self[1] as string), "..", "..")] : []);
}

/** One audit row per egress attempt (surface "exec"), so a denied host shows in the log. */
async function auditEgress(
  audit: import("../audit/index.ts").AuditLog,
  who: { agent: string; sessionId: string; sandboxId: string | null; policyVersion: number },
  e: { host: string; port: number; allowed: boolean; reason: string },
): Promise<string | undefined> {
  const trace_id = randomUUID().replace(/-/g, "");
  return audit
    .append({
      trace_id,
      session_id: who.sessionId,
      agent_id: who.agent,
      sandbox_id: who.sandboxId,
      policy_version: who.policyVersion,
      surface: "exec",
      decision: e.allowed ? "allow" : "deny",
      step_decisions: [
        { step: "egress_proxy", decision: e.allowed ? "allow" : "deny", evidence: { host: e.host, port: e.port, reason: e.reason }, compiled_policy_aspect: "network", rule_provenance: [] },
      ],
      meta: { egress: { host: e.host, port: e.port } },
    })
    .then(() => trace_id)
    .catch(() => undefined);
}

/** The longest token the policy's verify_capability_token step accepts (default 300 s). */
function maxTokenTtl(policy: import("../policy/types.ts").CompiledPolicyPayload): number {
  const step = policy.pipeline.steps.find((s) => s.name === "verify_capability_token");
  const max = Number(step?.config?.max_ttl_s ?? 300);
  return Number.isFinite(max) && max > 0 ? Math.floor(max) : 300;
}
