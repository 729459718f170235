/**
 * The LLM gateway as a library: `startGateway` serves the OpenAI and Anthropic wire formats on
 * loopback for one agent's Compiled Policy. `tappass gateway serve` and `tappass exec` use it.
 *
 *   const gw = await startGateway({ envelope, db, keys, upstreams: { anthropic: "http://127.0.0.1:9" } });
 *   // ANTHROPIC_BASE_URL=gw.url, OPENAI_BASE_URL=`${gw.url}/v1`, key = a capability token
 *   await gw.close();
 */
import type { Keys } from "../crypto/keys.ts";
import { TapPassError } from "../errors.ts";
import { tappassHome } from "../home.ts";
import { createPipeline } from "../pipeline/index.ts";
import type { Pipeline } from "../pipeline/types.ts";
import type { CompiledPolicyEnvelope } from "../policy/types.ts";
import { startCheckpointer } from "../audit/checkpointer.ts";
import { AuditTrail } from "../audit/trail.ts";
import type { Db } from "../store/db.ts";
import { BreakerRegistry } from "./circuit-breaker.ts";
import { createHandler, type GatewayStats } from "./server.ts";
import { DEFAULT_TIMEOUTS, normaliseBase, type Timeouts, Upstreams } from "./upstreams.ts";

export type { GatewayStats } from "./server.ts";

export interface GatewayOptions {
  envelope: CompiledPolicyEnvelope;
  db: Db;
  keys: Keys;
  /** 0 (default) = an ephemeral port. */
  port?: number;
  /** Loopback only: 127.0.0.1 (default) or ::1. */
  host?: "127.0.0.1" | "::1" | "localhost";
  upstreams: { openai?: string; anthropic?: string; gemini?: string };
  /** Provider keys handed in by the caller (by provider name or env var name); else env, else the key store. */
  providerKeys?: Record<string, string | undefined>;
  /** Environment to read provider keys from (default process.env). */
  env?: Record<string, string | undefined>;
  /** TAPPASS_HOME for the encrypted key store (default: the current home). */
  home?: string;
  timeouts?: Partial<Timeouts>;
  breaker?: { threshold?: number; cooldownMs?: number };
  /** Use this pipeline instead of creating one from the envelope. */
  pipeline?: Pipeline;
  onCall?: (info: { trace_id: string; denied: boolean; status: number }) => void;
}

export interface Gateway {
  url: string;
  port: number;
  close(): Promise<void>;
  stats(): GatewayStats;
  /** Swap in a newer signed policy (calls already begun keep theirs). */
  reload(envelope: CompiledPolicyEnvelope): void;
  /** Resolves once the audit rows of answers already sent are committed (they follow the answer: audit/trail.ts). */
  settled(): Promise<void>;
}

/** Requests after which the gateway moves WAL checkpoints to a worker (see startGateway). */
const CHECKPOINTER_AFTER = 100;

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const host = opts.host ?? "127.0.0.1";
  if (!["127.0.0.1", "::1", "localhost"].includes(host)) {
    throw new TapPassError("gateway_not_loopback", `the gateway only listens on loopback, not ${host}`, 2, { hint: "use 127.0.0.1 or ::1" });
  }
  const bases = {
    ...(opts.upstreams.openai ? { openai: checkBase(opts.upstreams.openai, "openai") } : {}),
    ...(opts.upstreams.anthropic ? { anthropic: checkBase(opts.upstreams.anthropic, "anthropic") } : {}),
    ...(opts.upstreams.gemini ? { gemini: checkBase(opts.upstreams.gemini, "gemini") } : {}),
  };
  let envelope = opts.envelope;
  const pipeline = opts.pipeline ?? createPipeline({ envelope, db: opts.db, keys: opts.keys });
  const upstreams = new Upstreams(new BreakerRegistry(opts.breaker), { ...DEFAULT_TIMEOUTS, ...(opts.timeouts ?? {}) });
  const stats: GatewayStats = { calls: 0, denied: 0, tokens_in: 0, tokens_out: 0, cost_usd: 0, trace_ids: [], denials: [] };
  const providerKeys = { explicit: opts.providerKeys, env: opts.env ?? process.env, db: opts.db, home: opts.home ?? tappassHome() };
  const trail = new AuditTrail();
  let handler = createHandler({ pipeline, envelope, db: opts.db, keys: opts.keys, upstreams, bases, providerKeys, stats, trail, onCall: opts.onCall });

  // WAL checkpoints (and their fsync) on a worker thread instead of inside a governed call's
  // COMMIT, once the gateway is busy: before its WAL reaches SQLite's first automatic checkpoint
  // (the audit log alone would start it only after 200 rows), yet not at start-up, where a
  // worker costs ~20 ms (`tappass exec` starts a gateway for every command).
  let requests = 0;
  let stopCheckpoints: () => void = () => {};
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      hostname: host,
      port: opts.port ?? 0,
      idleTimeout: 0,
      // no cut-off of Bun's own (an empty 413): the handler stops reading at MAX_REQUEST_BYTES and
      // answers in the client's format
      maxRequestBodySize: 1024 ** 4,
      fetch: (req) => {
        if (++requests === CHECKPOINTER_AFTER) stopCheckpoints = startCheckpointer(opts.db) ?? stopCheckpoints;
        return handler(req);
      },
      error: (e) => new Response(JSON.stringify({ error: { type: "server_error", message: `TapPass gateway internal error: ${e.message}` } }), { status: 500, headers: { "content-type": "application/json" } }),
    });
  } catch (e) {
    throw new TapPassError("gateway_listen_failed", `cannot listen on ${host}:${opts.port ?? 0}: ${(e as Error).message}`, 3, { hint: "pick another --port, or 0 for any free port" });
  }
  const port = server.port as number;
  const shownHost = host === "::1" ? "[::1]" : host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    stats: () => ({ ...stats, trace_ids: [...stats.trace_ids], denials: [...stats.denials] }),
    settled: () => trail.settled(),
    reload(next: CompiledPolicyEnvelope) {
      if (next.payload.agent !== envelope.payload.agent) throw new TapPassError("gateway_reload_agent", `reload is for agent "${next.payload.agent}", this gateway serves "${envelope.payload.agent}"`, 3);
      envelope = next;
      pipeline.setEnvelope(next);
      handler = createHandler({ pipeline, envelope, db: opts.db, keys: opts.keys, upstreams, bases, providerKeys, stats, trail, onCall: opts.onCall });
    },
    async close() {
      stopCheckpoints();
      await server.stop(true);
      await trail.settled(); // rows of answers already sent
      await upstreams.close();
    },
  };
}

function checkBase(url: string, which: string): string {
  try {
    return normaliseBase(url);
  } catch (e) {
    throw new TapPassError("bad_upstream", `--upstream-${which} ${url}: ${(e as Error).message}`, 2, { hint: "give an http(s) URL such as http://127.0.0.1:8080" });
  }
}
