/**
 * MCP broker overhead: latency of one tools/call over stdio, straight to the fixture server vs
 * through the broker (runStdioBroker with the standard test policy: the whole pipeline runs
 * before and after each call, and an audit row is written), and through the broker's routing
 * alone (no governance) to tell transport cost from pipeline cost. Bounded: N sequential calls each,
 * the three taking turns in blocks (measureSideBySide).
 * `in_process_ms` splits the governed part the same way inside one process (no pipes, no
 * scheduling between processes): the broker's tool decision, before_call (the Governor's gate:
 * decision + pipeline), after_call (the pipeline on the result, until the result is handed back)
 * and the audit row's commit, which follows the result (audit/trail.ts; timed around the audit
 * log's append, off the call's path).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const fx = join(root, "test", "fixtures", "mcp");
const N = 300;
/** Calls before measuring, for every path alike: the broker's steady state (see gateway.bench.ts); TAPPASS_BENCH_WARMUP sets it. */
const WARMUP = Number(process.env.TAPPASS_BENCH_WARMUP ?? 500);

interface Rpc {
  call(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

function rpc(cmd: string[], env: Record<string, string>): Rpc {
  const p = Bun.spawn(cmd, { stdin: "pipe", stdout: "pipe", stderr: "ignore", env: { ...process.env, ...env } });
  const waiting = new Map<number, (m: Record<string, unknown>) => void>();
  let id = 0;
  void (async () => {
    const dec = new TextDecoder();
    let buf = "";
    const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        const m = JSON.parse(buf.slice(0, nl)) as { id?: number };
        buf = buf.slice(nl + 1);
        if (typeof m.id === "number") waiting.get(m.id)?.(m as Record<string, unknown>);
        nl = buf.indexOf("\n");
      }
    }
  })();
  const sink = p.stdin as import("bun").FileSink;
  return {
    call(method, params) {
      const i = ++id;
      return new Promise((res) => {
        waiting.set(i, res);
        sink.write(`${JSON.stringify({ jsonrpc: "2.0", id: i, method, params })}\n`);
        sink.flush();
      });
    },
    async close() {
      sink.end();
      await p.exited;
    },
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round((s[s.length >> 1] ?? 0) * 1000) / 1000;
};

/** The governed part of a call, in process: decision, before_call, after_call, audit commit (medians). */
async function inProcess(home: string, policy: Record<string, unknown>): Promise<Record<string, number>> {
  const { signedEnvelope, testPayload } = await import("../test/helpers/policy.ts");
  const { loadKeys } = await import("../src/engine/crypto/keys.ts");
  const { issueToken } = await import("../src/engine/crypto/tokens.ts");
  const { openState } = await import("../src/engine/store/state.ts");
  const { createPipeline, sharedAuditLog } = await import("../src/engine/pipeline/index.ts");
  const { createGovernor } = await import("../src/engine/mcp/govern.ts");
  const keys = loadKeys(home);
  const db = openState(home);
  const envelope = signedEnvelope(testPayload(policy), keys);
  const p = envelope.payload;
  // the audit log the broker uses, with each append timed from the call to its commit
  const log = sharedAuditLog(db, keys);
  let commitMs = 0;
  const timed = {
    ...log,
    append(row: Parameters<typeof log.append>[0]) {
      const t = performance.now();
      return log.append(row).then((r) => {
        commitMs += performance.now() - t;
        return r;
      });
    },
  };
  const pipeline = createPipeline({ envelope, db, keys, audit: timed });
  const token = await issueToken(keys, { agent: p.agent, session_id: "bench", sandbox_id: p.sandbox_id, policy_version: p.policy_version, ttlSeconds: 300 });
  const g = createGovernor({ pipeline, db, token: async () => token });
  const tool = { name: "search_docs", description: "Search the documentation", inputSchema: { type: "object", properties: { query: { type: "string" } }, required: ["query"] } };
  const decide: number[] = [];
  const before: number[] = [];
  const after: number[] = [];
  const audit: number[] = [];
  for (let i = 0; i < N + WARMUP; i++) {
    const t0 = performance.now();
    g.filterTools([tool], "paged-fixture");
    const t1 = performance.now();
    const gate = await g.call({ server: "paged-fixture", name: "search_docs", args: { query: `q${i}` }, tool, session_id: "bench" });
    const t2 = performance.now();
    if (gate.denied) throw new Error("bench call refused");
    commitMs = 0;
    await gate.after({ content: [{ type: "text", text: `3 results for q${i}` }] });
    const t3 = performance.now();
    await g.flush();
    if (i < WARMUP) continue;
    decide.push(t1 - t0);
    before.push(t2 - t1);
    after.push(t3 - t2);
    audit.push(commitMs);
  }
  return { tool_decision: median(decide), before_call: median(before), after_call: median(after), audit_commit: median(audit) };
}

/** Calls per block: the targets take turns in blocks of this many, so a machine slowing down mid-run slows all alike. */
const BLOCK = 25;
type Stats = { p50: number; p90: number; p99: number; errors: number };

const pctl = (xs: number[], x: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round((s[Math.min(s.length - 1, Math.floor(x * s.length))] ?? 0) * 1000) / 1000;
};

async function handshake(r: Rpc): Promise<void> {
  await r.call("initialize", { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "bench", version: "1" } });
  await r.call("tools/list", {});
}

/**
 * Every target warmed up, then measured side by side: blocks of BLOCK calls, the targets in turn,
 * until each has made N (a separate phase per target would compare a quiet moment of the machine
 * with a busy one).
 */
async function measureSideBySide(targets: Rpc[]): Promise<Stats[]> {
  const times = targets.map(() => [] as number[]);
  const errors = targets.map(() => 0);
  let seq = 0;
  const one = async (r: Rpc, k: number, keep: boolean) => {
    const t0 = performance.now();
    const m = await r.call("tools/call", { name: "search_docs", arguments: { query: `q${seq++}` } });
    const dt = performance.now() - t0;
    if (m.error || (m.result as { isError?: boolean })?.isError) errors[k] = (errors[k] ?? 0) + 1;
    if (keep) times[k]?.push(dt);
  };
  for (const [k, r] of targets.entries()) {
    await handshake(r);
    for (let i = 0; i < WARMUP; i++) await one(r, k, false);
  }
  for (let done = 0; done < N; done += BLOCK) {
    for (const [k, r] of targets.entries()) for (let i = 0; i < BLOCK; i++) await one(r, k, true);
  }
  return times.map((xs, k) => ({ p50: pctl(xs, 0.5), p90: pctl(xs, 0.9), p99: pctl(xs, 0.99), errors: errors[k] ?? 0 }));
}

export default async function (): Promise<Record<string, unknown>> {
  const home = mkdtempSync(join(tmpdir(), "tappass-bench-mcp-"));
  try {
    const { initInstall } = await import("../src/engine/install.ts");
    await initInstall({ home });
    const server = [process.execPath, join(fx, "paged-server.ts")];
    const policy = JSON.stringify({ budget: { tool_calls_per_minute: null, requests_per_minute: null } });
    const direct = rpc(server, {});
    const brokered = rpc([process.execPath, join(fx, "broker-stdio.ts"), "--", ...server], { TAPPASS_HOME: home, MCP_TEST_POLICY: policy });
    const routing = rpc([process.execPath, join(fx, "broker-passthrough.ts"), "--", ...server], {});
    const [d, b, r] = (await measureSideBySide([direct, brokered, routing])) as [Stats, Stats, Stats];
    await Promise.all([direct.close(), brokered.close(), routing.close()]);
    const split = await inProcess(home, JSON.parse(policy));
    const { closeAllState } = await import("../src/engine/store/state.ts");
    closeAllState();
    const r3 = (x: number) => Math.round(x * 1000) / 1000;
    return {
      calls: N,
      direct_ms: d,
      brokered_ms: b,
      routing_only_ms: r,
      added_p50_ms: r3(b.p50 - d.p50),
      added_p99_ms: r3(b.p99 - d.p99),
      added_routing_p50_ms: r3(r.p50 - d.p50),
      added_pipeline_p50_ms: r3(b.p50 - r.p50),
      in_process_ms: split,
      goal_added_p50_ms: 1,
      meets_goal: b.p50 - d.p50 <= 1,
    };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
