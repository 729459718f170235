/**
 * `tappass exec -- COMMAND`: run an agent with every enforcement position in place.
 *   1. the agent's signed Compiled Policy (cached while its sources, keys and the binary are
 *      unchanged; policy/cache.ts)
 *   2. the LLM gateway and the hook governor on loopback
 *   3. a capability token for the agent instead of provider keys
 *   4. the harness config (Claude Code / Codex / Gemini CLI) rendered into a private directory
 *   5. the kernel ring (Landlock + seccomp + network namespace + egress proxy) unless
 *      --no-kernel, and a refusal to run unconfined under an enforcing policy otherwise
 *   6. the command run, its exit code passed through, clean-up, a summary
 *
 * Start-up is pipelined, since it is paid on every governed run: the sandbox (bwrap and the
 * `__exec` step) is started as soon as its filesystem layout is known — right after the policy —
 * and the keys, the MCP brokers, the rendered harness files, the token and the agent's env are
 * made while it starts; the step waits for them before it restricts itself and execve's. Inside
 * the kernel ring the agent reaches the gateway and the hook governor only through the bridge,
 * so those two servers (and the pipeline behind them, the bulk of the engine) start on the first
 * connection — or right after the spawn for a known harness, which always calls them; a
 * connection waits until they listen and is dropped if they cannot start, which also ends the
 * run (nothing passes ungoverned). With --no-kernel they start before the command, which
 * reaches them directly. The modules on the path to the spawn avoid node:crypto (its first
 * import alone costs ~4 ms): ids come from Web Crypto.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { selfCommand } from "../../cli/self.ts";
import * as sandbox from "../../sandbox/index.ts";
import type { AuditLog } from "../audit/index.ts";
import type { AuditRow } from "../audit/types.ts";
import type { Keys } from "../crypto/keys.ts";
import { maxTokenTtl } from "../crypto/ttl.ts";
import { TapPassError, inputError, internalError } from "../errors.ts";
import type { Gateway } from "../gateway/index.ts";
import type { HookServer } from "../harness/hook-server.ts";
import { envelopeForExec } from "../policy/cache.ts";
import type { Db } from "../store/db.ts";
import { openState } from "../store/state.ts";
import { governedEnv } from "./agent-env.ts";
import { HARNESS_COPIES, harnessOf, wireHarness } from "./harness.ts";
import { HARNESS_STATE, type Launch, renderDir, resolveCommand, saveLaunch, startLaunch } from "./prelaunch.ts";
import { type McpSetup, loadMcpConfig, projectMcpFiles, startMcp } from "./mcp.ts";
import type { ExecSummary } from "./summary.ts";

export interface ExecOptions {
  agent?: string;
  argv: string[];
  noKernel: boolean;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  upstreams?: { openai?: string; anthropic?: string; gemini?: string };
  /** stdio of the governed command (default inherit). */
  stdio?: ["inherit" | "pipe" | "ignore", "inherit" | "pipe" | "ignore", "inherit" | "pipe" | "ignore"];
  /** Test hooks for the egress proxy (name resolution, private addresses). */
  egress?: { resolve?: (host: string) => Promise<string[]>; allowPrivate?: boolean; ports?: number[] };
  /** Progress lines and warnings (stderr). */
  log?: (line: string) => void;
  /** No progress line (warnings still go to `log`). */
  quiet?: boolean;
  /** An extra .mcp.json-style file (the project's .mcp.json is read too). */
  mcpConfig?: string;
  /** Approve the stdio MCP servers of this run that are new or changed (exec/mcp-approval.ts). */
  approveMcp?: boolean;
  /** Token lifetime; default: the policy's lifetime, capped at 12 h. */
  tokenTtlSeconds?: number;
  /** The launch-cache lookup (and prelaunched sandbox) the caller already made (prelaunch.ts). */
  launch?: Launch;
}

export interface ExecResult extends ExecSummary {
  stdout?: string;
  stderr?: string;
}

/** The directories an executable needs to be readable: its real location and its package root. */
function executableTrees(exe: string): string[] {
  const real = realpathSync(exe);
  const out = [dirname(real)];
  const nm = real.lastIndexOf("/node_modules/");
  if (nm >= 0) out.push(real.slice(0, nm + "/node_modules".length));
  return out;
}

/** The servers the agent's calls go through, started together (lazily inside the kernel ring). */
interface Governor {
  gateway: Gateway;
  hooks: HookServer;
}

/**
 * Ports of the agent's side of the bridge (its network namespace is empty, so any will do):
 * below the usual ephemeral range, where the MCP brokers' host ports (bridged on the same
 * numbers) are, and away from the egress proxy's.
 */
function namespacePorts(n: number): number[] {
  const out: number[] = [];
  const r = new Uint32Array(1);
  while (out.length < n) {
    crypto.getRandomValues(r);
    const p = 20000 + ((r[0] as number) % 12000);
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

const randomId = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");

export async function runExec(opts: ExecOptions): Promise<ExecResult> {
  const log = opts.log ?? (() => {});
  const t0 = performance.now();
  // TAPPASS_DEBUG=1 prints where start-up time goes ("at": since process start; "clock": to line
  // up with the __exec step's own lines).
  let tMark = t0;
  const mark = (what: string) => {
    if (!process.env.TAPPASS_DEBUG) return;
    const now = performance.now();
    log(`tappass: ${what} +${(now - tMark).toFixed(1)} ms (at ${now.toFixed(1)} ms, clock ${((performance.timeOrigin + now) % 1e5).toFixed(1)})`);
    tMark = now;
  };
  mark("exec started");
  const baseEnv = opts.env ?? process.env;
  const cwd = resolve(opts.cwd ?? process.cwd());
  if (opts.argv.length === 0) throw new TapPassError("usage_error", "no command given", 2, { hint: "tappass exec [--agent NAME] -- COMMAND [ARGS...]" });
  // exec's fast path resolved it already, for the launch cache
  const exe = opts.launch?.exe ?? resolveCommand(opts.argv[0] as string, baseEnv.PATH);
  if (!exe) throw inputError("command_not_found", `command not found: ${opts.argv[0]}`, { hint: "check the name, or give its full path" });
  const harness = harnessOf(opts.argv);
  const stdio = opts.stdio ?? ["inherit", "inherit", "inherit"];

  // 0. The sandbox as an earlier run of this program here started it, while the policy loads
  // (exec's fast path starts it before this module has even loaded).
  const launch = opts.noKernel ? undefined : (opts.launch ?? startLaunch({ agent: opts.agent, cwd, exe, argv: opts.argv, stdio }));
  const early = launch?.early;
  if (early) mark("prelaunched");
  let earlyConsumed = false;
  try {

    // 1. policy
    const db = openState();
    mark("state opened");
    const agent = opts.agent ?? (await defaultAgent(db));
    const { envelope, cached } = await envelopeForExec(db, agent);
    const policy = envelope.payload;
    const sessionId = crypto.randomUUID();
    mark(cached ? "policy loaded (cached, signature verified)" : "policy compiled and signed");

    // kernel ring decision before anything starts
    const probe = sandbox.probeKernel();
    const missing = sandbox.missingFeatures(probe);
    const enforcing = policy.pipeline.mode === "enforce" || policy.pipeline.mode === "lockdown";
    if (!opts.noKernel && missing.length > 0) {
      throw inputError("kernel_ring_unavailable", `refusing to run "${opts.argv[0]}" unconfined under an ${policy.pipeline.mode} policy: missing ${missing.join(", ")}`, {
        hint: "install what is missing, or pass --no-kernel to run without the kernel ring (recorded in the audit log)",
      });
    }
    if (opts.noKernel && enforcing) log(`tappass: --no-kernel: "${opts.argv[0]}" runs WITHOUT kernel confinement (gateway, broker and hooks still enforce)`);

    // 2. keys and servers. Tokens live as long as the policy's verify_capability_token allows
    // (5 min by default); a harness that can renew (Claude Code's apiKeyHelper) asks the governor.
    let keysP: Promise<Keys> | undefined;
    const keys = () => {
      keysP ??= import("../crypto/keys.ts").then((m) => m.loadKeys());
      return keysP;
    };
    const ttl = opts.tokenTtlSeconds ?? maxTokenTtl(policy);
    const mint = async () => {
      const { issueToken } = await import("../crypto/tokens.ts");
      return issueToken(await keys(), { agent, session_id: sessionId, sandbox_id: policy.sandbox_id, policy_version: policy.policy_version, ttlSeconds: ttl });
    };
    const sessionSecret = randomId(32);
    let governor: Promise<Governor> | undefined;
    const startGovernor = async (): Promise<Governor> => {
      const t = performance.now();
      const [{ createPipeline, sharedAuditLog }, { startGateway }, { startHookServer }, k] = await Promise.all([
        import("../pipeline/index.ts"),
        import("../gateway/index.ts"),
        import("../harness/hook-server.ts"),
        keys(),
      ]);
      const audit = sharedAuditLog(db, k);
      const pipeline = createPipeline({ envelope, db, keys: k, audit });
      const gateway = await startGateway({ envelope, db, keys: k, port: 0, upstreams: opts.upstreams ?? {}, pipeline, env: baseEnv });
      let hooks: HookServer;
      try {
        hooks = startHookServer({ pipeline, envelope, keys: k, agent, sandbox_id: policy.sandbox_id, renew: { secret: sessionSecret, issue: mint } });
      } catch (e) {
        await gateway.close();
        throw e;
      }
      if (process.env.TAPPASS_DEBUG) log(`tappass: gateway and hook governor started in ${(performance.now() - t).toFixed(1)} ms`);
      return { gateway, hooks };
    };
    const ensureGovernor = () => {
      governor ??= startGovernor();
      return governor;
    };
    // Without the ring the command reaches the servers directly: they listen before it starts.
    const direct = opts.noKernel ? await ensureGovernor() : undefined;
    const [gwPort, hookPort] = direct ? [direct.gateway.port, direct.hooks.port] : namespacePorts(2);
    const gatewayUrl = `http://127.0.0.1:${gwPort}`;
    const hookUrl = `http://127.0.0.1:${hookPort}`;

    // MCP servers (brokered on this side of the kernel ring): read now, started with the env.
    const mcpConfig = loadMcpConfig(projectMcpFiles(cwd, opts.mcpConfig));
    const hasMcp = Object.keys(mcpConfig).length > 0;
    let mcp: McpSetup | undefined;

    // 4. private render directory (0700): harness config + the read-only policy file
    const dir = early?.dir ?? renderDir(harness);
    const policyFile = join(dir, "policy.json");
    const egressLog: Array<{ host: string; port: number; allowed: boolean; reason: string }> = [];
    const mcpRows: AuditRow[] = [];
    const egressAudits: Array<Promise<string | undefined>> = [];
    let governorFailure: unknown;
    try {
      // Same file (a prelaunched sandbox has it bound already), then read-only.
      writeFileSync(policyFile, JSON.stringify(envelope));
      chmodSync(policyFile, 0o444);
      const home = baseEnv.HOME ?? homedir();
      const stateDir = HARNESS_STATE[harness];
      const writable = stateDir ? [join(dir, stateDir)] : [];
      const wired = wireHarness(harness, [exe, ...opts.argv.slice(1)], dir, hasMcp);

      // The part of the start-up that runs while the sandbox starts: keys, MCP brokers, the
      // rendered harness files, the token, the env.
      const prepare = async (): Promise<{ env: Record<string, string>; ports: number[] }> => {
        const k = await keys();
        mcp = await startMcp({ config: mcpConfig, envelope, db, keys: k, agentCommand: [...selfCommand(), "agent"], sessionSecret, cwd, log, approve: opts.approveMcp, sessionId, onRow: (r) => mcpRows.push(r) });
        if (mcp.ports.some((p) => p === gwPort || p === hookPort)) throw internalError(`an MCP broker got port ${mcp.ports.join(", ")}, which the sandbox already uses; run again`);
        const token = await mint();
        if (harness !== "generic") {
          const { providers } = await import("../../providers/index.ts");
          const hookEnv = { TAPPASS_AGENT: agent, TAPPASS_HOOK_URL: hookUrl, TAPPASS_TOKEN: token, TAPPASS_SESSION_SECRET: sessionSecret };
          const caps = { agentCommand: [...selfCommand(), "agent"], gatewayUrl, hookUrl, hookEnv, mcpServers: mcp.servers, workspace: cwd, home, hookTimeoutSeconds: 10, kernelRing: !opts.noKernel };
          for (const f of providers[harness]!.render(policy, caps)) {
            const p = join(dir, f.path);
            mkdirSync(dirname(p), { recursive: true });
            writeFileSync(p, f.content, { mode: f.mode ?? 0o644 });
          }
          for (const [from, to] of HARNESS_COPIES[harness] ?? []) {
            mkdirSync(dirname(join(dir, to)), { recursive: true });
            copyFileSync(join(dir, from), join(dir, to));
          }
        }
        const env = governedEnv({
          base: baseEnv,
          token,
          gatewayUrl,
          hookUrl,
          agent,
          sessionId,
          sandboxId: policy.sandbox_id,
          policyFile,
          extra: { ...wired.env, ...mcp.env, TAPPASS_SESSION_SECRET: sessionSecret, ...(process.env.TAPPASS_SELF ? { TAPPASS_SELF: process.env.TAPPASS_SELF } : {}) },
        });
        // Claude Code prefers ANTHROPIC_API_KEY over its apiKeyHelper: leave it unset so it renews.
        if (harness === "claude-code") delete env.ANTHROPIC_API_KEY;
        mark("keys, MCP, harness config, token and env ready");
        return { env, ports: mcp.ports };
      };

      // 5. + 6. run
      if (!opts.quiet) log(`tappass: ${agent} (policy v${policy.policy_version}) → ${opts.argv.join(" ")}`);
      let exitCode: number;
      let stdout: string | undefined;
      let stderr: string | undefined;
      let confined = false;
      if (!opts.noKernel) {
        const spec = sandbox.specFromPolicy(policy, {
          workspace: cwd,
          gatewayPort: gwPort,
          brokerPort: hookPort,
          keyringPath: policyFile,
          env: {},
          home,
          extraReadOnly: [dir, ...executableTrees(exe), ...selfTrees()],
        });
        spec.fs.read_write.push(...writable);
        // A governor that cannot start ends the run: the agent could not make a governed call.
        let proc: sandbox.ConfinedProcess | undefined;
        const governed = () =>
          ensureGovernor().catch((e) => {
            governorFailure ??= e;
            proc?.kill("SIGKILL");
            throw e;
          });
        const target = (pick: (g: Governor) => number) => () => governed().then(pick);
        // Ctrl-C, SIGTERM, SIGHUP go to the command (which may want to clean up), not to us — from
        // before the sandbox gets its spec: the command may run (and be signalled) at once
        const relay = sandbox.relaySignals(log);
        try {
          earlyConsumed = true; // spawnConfined owns the prelaunched sandbox and its directory now
          proc = await sandbox.spawnConfined(spec, wired.argv, {
            stdio,
            probe,
            dirs: early?.dirs,
            prelaunched: early?.pre,
            late: prepare,
            forward: { [gwPort as number]: target((g) => g.gateway.port), [hookPort as number]: target((g) => g.hooks.port) },
            resolve: opts.egress?.resolve,
            allowPrivate: opts.egress?.allowPrivate,
            egressPorts: opts.egress?.ports,
            onEgress: (e) => {
              egressLog.push({ host: e.host, port: e.port, allowed: e.allowed, reason: e.reason });
              egressAudits.push(auditEgress(db, keys(), { agent, sessionId, sandboxId: policy.sandbox_id, policyVersion: policy.policy_version }, e));
            },
          });
          confined = true;
          const p = proc;
          relay.attach({ pid: () => p.commandPid(), kill: (sig) => p.signal(sig), forceKill: () => p.kill("SIGKILL") });
          mark(proc.prelaunched ? "spec handed to the prelaunched sandbox" : "spec handed to the sandbox");
          if (launch && !proc.prelaunched) saveLaunch(launch.key, proc.argv, { sock: proc.dirs.sockDir, dir });
          proc.exited.then(() => mark("sandbox exited"));
          // A known harness always calls the gateway and the hooks: start them while it boots.
          if (harness !== "generic" || hasMcp) governed().catch(() => undefined);
          [stdout, stderr] = await Promise.all([proc.stdout ? new Response(proc.stdout).text() : undefined, proc.stderr ? new Response(proc.stderr).text() : undefined]);
          exitCode = (await proc.exited).exitCode;
        } finally {
          relay.stop();
        }
        mark("command exited, sandbox closed");
      } else {
        const { env } = await prepare();
        // started before the spawn, as above: a signal in between would otherwise be lost
        const relay = sandbox.relaySignals(log);
        try {
          await new Promise((r) => setImmediate(r)); // the runtime's signal handlers are in place before the child exists
          const child = Bun.spawn(wired.argv, { cwd, env, stdio });
          relay.attach({ pid: () => child.pid, kill: (sig) => child.kill(sig), forceKill: () => child.kill("SIGKILL") });
          [stdout, stderr] = await Promise.all([
            child.stdout instanceof ReadableStream ? new Response(child.stdout).text() : undefined,
            child.stderr instanceof ReadableStream ? new Response(child.stderr).text() : undefined,
          ]);
          exitCode = await child.exited;
        } finally {
          relay.stop();
        }
      }
      if (governorFailure) throw governorFailure;
      // the command is gone: stop the MCP brokers now, so the rows of their last results (committed
      // just after each result went back: audit/trail.ts) are in the summary
      await (mcp as McpSetup | undefined)?.close();

      const gov = governor ? await governor.catch(() => undefined) : undefined;
      const g = gov?.gateway.stats() ?? { calls: 0, denied: 0, tokens_in: 0, tokens_out: 0, cost_usd: 0, trace_ids: [] as string[], denials: [] };
      const decisions = gov?.hooks.decisions ?? [];
      const egressTraces = (await Promise.all(egressAudits)).filter((t): t is string => !!t);
      const denials: ExecSummary["denials"] = [
        ...decisions.filter((d) => d.decision === "deny").map((d) => ({ surface: "hook", what: d.step ?? "tool", reason: d.reason, trace_id: d.trace_id })),
        ...egressLog.filter((e) => !e.allowed).map((e) => ({ surface: "egress", what: `${e.host}:${e.port}`, reason: e.reason })),
        ...(g.denials ?? []).map((d: { step: string; reason: string; trace_id?: string }) => ({ surface: "llm", what: d.step, reason: d.reason, trace_id: d.trace_id })),
        ...mcpRows.filter((r) => r.decision === "deny").map((r) => {
          const step = r.step_decisions.find((f) => f.decision === "deny");
          return { surface: "mcp", what: String(r.meta.tool ?? "tool"), reason: step?.step ?? "denied", trace_id: r.trace_id };
        }),
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
        hooks: { calls: decisions.length, denied: decisions.filter((d) => d.decision === "deny").length },
        mcp: { calls: mcpRows.length, denied: mcpRows.filter((r) => r.decision === "deny").length },
        egress: { attempts: egressLog.length, denied: egressLog.filter((e) => !e.allowed).length },
        denials,
        trace_ids: [...g.trace_ids, ...decisions.map((d) => d.trace_id).filter((t): t is string => !!t), ...egressTraces, ...mcpRows.map((r) => r.trace_id)],
        stdout,
        stderr,
      };
    } finally {
      const timed = (name: string, p: Promise<unknown>) => {
        const t = performance.now();
        return p.finally(() => process.env.TAPPASS_DEBUG && log(`tappass: closed ${name} in ${(performance.now() - t).toFixed(0)} ms`));
      };
      const gov = governor ? await governor.catch(() => undefined) : undefined;
      const m = mcp as McpSetup | undefined;
      await Promise.allSettled([...(gov ? [timed("gateway", gov.gateway.close()), timed("hooks", gov.hooks.close())] : []), ...(m ? [timed("mcp", m.close())] : [])]);
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    // A prelaunched sandbox nobody took (an error before the spawn) is killed, never left waiting.
    if (early && !earlyConsumed) {
      await early.pre.abandon();
      rmSync(early.dirs.sockDir, { recursive: true, force: true });
      rmSync(early.dir, { recursive: true, force: true });
    }
  }
}

/** For `tappass exec` without --agent: the install's local agent, created on first use. */
async function defaultAgent(db: Db, name = "local"): Promise<string> {
  if (db.prepare("SELECT 1 AS x FROM agents WHERE name = ?").get(name)) return name;
  const { ensureDefaultAgent } = await import("../policy/index.ts");
  return ensureDefaultAgent(db, name);
}

/** Where this TapPass itself lives (the hook re-runs it inside the sandbox). */
function selfTrees(): string[] {
  const self = selfCommand();
  return self.flatMap((p) => (p.startsWith("/") && existsSync(p) ? executableTrees(p) : [])).concat(self.length > 1 ? [resolve(dirname(self[1] as string), "..", "..")] : []);
}

/** One audit row per egress attempt (surface "exec"), so a denied host shows in the log. */
async function auditEgress(
  db: Db,
  keys: Promise<Keys>,
  who: { agent: string; sessionId: string; sandboxId: string | null; policyVersion: number },
  e: { host: string; port: number; allowed: boolean; reason: string },
): Promise<string | undefined> {
  const trace_id = crypto.randomUUID().replace(/-/g, "");
  try {
    // The same chained log the pipeline writes to (one per state database).
    const audit: AuditLog = (await import("../pipeline/index.ts")).sharedAuditLog(db, await keys);
    await audit.append({
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
    });
    return trace_id;
  } catch {
    return undefined;
  }
}

