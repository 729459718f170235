/**
 * Upstream model providers: which one serves a model (the policy's `models.routes`, else the
 * wire format's own provider at the configured base URL), and the HTTP call itself (undici,
 * pooled keep-alive connections, separate time limits for the response headers and for
 * silence between body chunks, each guarded by the origin's circuit breaker).
 */
import { Agent } from "undici/index.js";
import type { CompiledPolicyPayload } from "../policy/types.ts";
import type { BreakerRegistry } from "./circuit-breaker.ts";
import type { ProviderName } from "./credentials.ts";

export const DEFAULT_BASE: Record<"openai" | "anthropic", string> = {
  openai: "https://api.openai.com",
  anthropic: "https://api.anthropic.com",
};

export interface UpstreamBases {
  openai?: string;
  anthropic?: string;
}

export interface Route {
  provider: ProviderName;
  /** Origin plus optional path prefix, without a trailing "/v1". */
  base: string;
  key_env?: string;
  /** The route entry that matched, for the audit row. */
  match?: string;
}

/** "http://h:1/v1/" → "http://h:1"; "http://h/openai/v1" → "http://h/openai". */
export function normaliseBase(url: string): string {
  const u = new URL(url);
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`upstream ${url} is not http(s)`);
  let path = u.pathname.replace(/\/+$/, "");
  if (path.endsWith("/v1")) path = path.slice(0, -3);
  return `${u.protocol}//${u.host}${path}`;
}

const globs = new Map<string, RegExp>();
export function globMatch(pattern: string, value: string): boolean {
  if (pattern === "*" || pattern === value) return true;
  let re = globs.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i");
    if (globs.size > 1000) globs.clear();
    globs.set(pattern, re);
  }
  return re.test(value);
}

export type RouteResult = { ok: true; route: Route } | { ok: false; status: number; code: string; message: string };

/**
 * Pick the upstream for a model on a wire family. Routes that name a provider speaking another
 * wire format are refused (no silent translation); models outside `models.allow` or inside
 * `models.deny` are refused by policy.
 */
export function resolveRoute(family: "openai" | "anthropic", model: string, policy: CompiledPolicyPayload, bases: UpstreamBases): RouteResult {
  const m = policy.models;
  if (m) {
    if (m.deny.some((p) => globMatch(p, model))) return { ok: false, status: 403, code: "models_denied", message: `model "${model}" is denied by policy (models.deny)` };
    if (m.allow.length > 0 && !m.allow.some((p) => globMatch(p, model))) return { ok: false, status: 403, code: "models_allowed", message: `model "${model}" is not in the policy's allowed models (${m.allow.join(", ")})` };
    for (const r of m.routes) {
      if (!globMatch(r.match, model)) continue;
      const speaks = r.provider === "anthropic" ? "anthropic" : "openai";
      if (speaks !== family) {
        return { ok: false, status: 400, code: "route_wire_mismatch", message: `model "${model}" is routed to ${r.provider}, which does not speak the ${family === "openai" ? "OpenAI" : "Anthropic"} wire format this request used` };
      }
      const base = r.base_url ?? (r.provider === "anthropic" ? (bases.anthropic ?? DEFAULT_BASE.anthropic) : (bases.openai ?? DEFAULT_BASE.openai));
      return { ok: true, route: { provider: r.provider, base: normaliseBase(base), key_env: r.key_env, match: r.match } };
    }
  }
  const base = family === "anthropic" ? (bases.anthropic ?? DEFAULT_BASE.anthropic) : (bases.openai ?? DEFAULT_BASE.openai);
  return { ok: true, route: { provider: family, base: normaliseBase(base) } };
}

export interface Timeouts {
  /** Time allowed until the upstream's response headers (ms). */
  headers_ms: number;
  /** Longest silence between body chunks (ms). */
  idle_ms: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { headers_ms: 300_000, idle_ms: 120_000 };

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string>;
  body: AsyncIterable<Uint8Array>;
  /** Stop reading (client went away, stream cut); frees the connection. */
  abort(): void;
}

export class UpstreamFailure extends Error {
  constructor(
    readonly kind: "timeout" | "connect" | "circuit_open" | "aborted",
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Request headers never forwarded upstream (credentials are substituted; hop-by-hop dropped). */
const DROP_REQ = new Set(["authorization", "x-api-key", "api-key", "host", "content-length", "connection", "keep-alive", "transfer-encoding", "accept-encoding", "cookie", "proxy-authorization", "te", "upgrade", "expect"]);

export function forwardHeaders(incoming: Headers, provider: ProviderName, key: string): Record<string, string> {
  const out: Record<string, string> = {};
  incoming.forEach((v, k) => {
    if (DROP_REQ.has(k) || k.startsWith("x-tappass-")) return;
    out[k] = v;
  });
  out["accept-encoding"] = "identity";
  out["content-type"] = "application/json";
  if (provider === "anthropic") {
    out["x-api-key"] = key;
    if (!out["anthropic-version"]) out["anthropic-version"] = "2023-06-01";
  } else {
    out.authorization = `Bearer ${key}`;
  }
  return out;
}

/** Response headers passed back to the client. */
const PASS_RES = /^(content-type|request-id|x-request-id|retry-after|openai-.*|anthropic-.*|x-ratelimit-.*)$/;

export class Upstreams {
  private readonly agent: Agent;
  constructor(
    private readonly breakers: BreakerRegistry,
    readonly timeouts: Timeouts = DEFAULT_TIMEOUTS,
  ) {
    this.agent = new Agent({ connections: 256, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, headersTimeout: timeouts.headers_ms, bodyTimeout: timeouts.idle_ms });
  }

  async request(route: Route, path: string, opts: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal }): Promise<UpstreamResponse> {
    const url = new URL(route.base);
    const breaker = this.breakers.get(url.origin);
    if (!breaker.tryAcquire()) {
      const after = breaker.retryAfterMs();
      throw new UpstreamFailure("circuit_open", `upstream ${url.origin} is failing; the gateway stopped calling it for ${Math.ceil(after / 1000)} s (circuit breaker open)`, after);
    }
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    let res: Awaited<ReturnType<Agent["request"]>>;
    try {
      res = await this.agent.request({
        origin: url.origin,
        path: `${url.pathname.replace(/\/+$/, "")}${path}`,
        method: opts.method as "POST",
        headers: opts.headers,
        body: opts.body,
        signal: ac.signal,
        headersTimeout: this.timeouts.headers_ms,
        bodyTimeout: this.timeouts.idle_ms,
      });
    } catch (e) {
      opts.signal?.removeEventListener("abort", onAbort);
      const failure = classify(e, url.origin, this.timeouts);
      if (failure.kind === "aborted") breaker.release();
      else breaker.failure();
      throw failure;
    }
    if (res.statusCode >= 500 || res.statusCode === 429) breaker.failure();
    else breaker.success();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) {
      if (v === undefined || !PASS_RES.test(k)) continue;
      headers[k] = Array.isArray(v) ? v.join(", ") : String(v);
    }
    const body = res.body;
    const timeouts = this.timeouts;
    const origin = url.origin;
    return {
      status: res.statusCode,
      headers,
      body: {
        async *[Symbol.asyncIterator]() {
          try {
            for await (const chunk of body) yield chunk as Uint8Array;
          } catch (e) {
            const f = classify(e, origin, timeouts);
            if (f.kind !== "aborted") breaker.failure();
            throw f;
          } finally {
            opts.signal?.removeEventListener("abort", onAbort);
          }
        },
      },
      abort: () => {
        ac.abort();
        body.destroy();
      },
    };
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => this.agent.destroy());
  }
}

function classify(e: unknown, origin: string, t: Timeouts): UpstreamFailure {
  if (e instanceof UpstreamFailure) return e;
  const err = e as { code?: string; name?: string; message?: string; cause?: { code?: string } };
  const code = err?.code ?? err?.cause?.code ?? "";
  if (code === "UND_ERR_HEADERS_TIMEOUT") return new UpstreamFailure("timeout", `upstream ${origin} did not answer within ${Math.round(t.headers_ms / 1000)} s`);
  if (code === "UND_ERR_BODY_TIMEOUT") return new UpstreamFailure("timeout", `upstream ${origin} went silent for ${Math.round(t.idle_ms / 1000)} s mid-response`);
  if (code === "UND_ERR_CONNECT_TIMEOUT") return new UpstreamFailure("timeout", `connecting to upstream ${origin} timed out`);
  if (code === "UND_ERR_ABORTED" || err?.name === "AbortError") return new UpstreamFailure("aborted", "request aborted");
  return new UpstreamFailure("connect", `cannot reach upstream ${origin}: ${code || err?.message || String(e)}`);
}
