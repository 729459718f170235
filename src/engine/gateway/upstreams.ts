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

export const DEFAULT_BASE: Record<"openai" | "anthropic" | "gemini", string> = {
  openai: "https://api.openai.com",
  anthropic: "https://api.anthropic.com",
  gemini: "https://generativelanguage.googleapis.com",
};

export interface UpstreamBases {
  openai?: string;
  anthropic?: string;
  gemini?: string;
}

export interface Route {
  provider: ProviderName;
  /** Origin plus optional path prefix, without a trailing "/v1". */
  base: string;
  key_env?: string;
  /** The route entry that matched, for the audit row. */
  match?: string;
}

const bases = new Map<string, string>();
/** "http://h:1/v1/" → "http://h:1"; "http://h/openai/v1" → "http://h/openai". */
export function normaliseBase(url: string): string {
  const hit = bases.get(url);
  if (hit !== undefined) return hit;
  const out = normaliseBaseUncached(url);
  if (bases.size > 1000) bases.clear();
  bases.set(url, out);
  return out;
}

function normaliseBaseUncached(url: string): string {
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
export function resolveRoute(family: "openai" | "anthropic" | "gemini", model: string, policy: CompiledPolicyPayload, bases: UpstreamBases): RouteResult {
  const m = policy.models;
  if (m) {
    if (m.deny.some((p) => globMatch(p, model))) return { ok: false, status: 403, code: "models_denied", message: `model "${model}" is denied by policy (models.deny)` };
    if (m.allow.length > 0 && !m.allow.some((p) => globMatch(p, model))) return { ok: false, status: 403, code: "models_allowed", message: `model "${model}" is not in the policy's allowed models (${m.allow.join(", ")})` };
    for (const r of m.routes) {
      if (!globMatch(r.match, model)) continue;
      const speaks = r.provider === "anthropic" || r.provider === "gemini" ? r.provider : "openai";
      if (speaks !== family) {
        return { ok: false, status: 400, code: "route_wire_mismatch", message: `model "${model}" is routed to ${r.provider}, which does not speak the ${WIRE_NAME[family]} wire format this request used` };
      }
      const base = r.base_url ?? baseFor(speaks, bases);
      return { ok: true, route: { provider: r.provider, base: normaliseBase(base), key_env: r.key_env, match: r.match } };
    }
  }
  return { ok: true, route: { provider: family, base: normaliseBase(baseFor(family, bases)) } };
}

const WIRE_NAME = { openai: "OpenAI", anthropic: "Anthropic", gemini: "Gemini" } as const;
const baseFor = (family: "openai" | "anthropic" | "gemini", bases: UpstreamBases): string => bases[family] ?? DEFAULT_BASE[family];

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
const DROP_REQ = new Set(["authorization", "x-api-key", "api-key", "x-goog-api-key", "host", "content-length", "connection", "keep-alive", "transfer-encoding", "accept-encoding", "cookie", "proxy-authorization", "te", "upgrade", "expect"]);

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
  } else if (provider === "gemini") {
    out["x-goog-api-key"] = key;
  } else {
    out.authorization = `Bearer ${key}`;
  }
  return out;
}

/** Response headers passed back to the client. */
const PASS_RES = /^(content-type|request-id|x-request-id|retry-after|openai-.*|anthropic-.*|x-ratelimit-.*)$/;

/**
 * Which HTTP client calls upstream. Under Node: undici. Under Bun (the compiled binary): Bun's
 * native client — undici runs there as JavaScript over node:net with a WASM HTTP parser, which
 * costs ~0.2 ms and ~20% of the gateway's CPU per call. TAPPASS_UPSTREAM_CLIENT=undici|fetch
 * picks one explicitly.
 */
export function upstreamClient(env: Record<string, string | undefined> = process.env): "undici" | "fetch" {
  const want = env.TAPPASS_UPSTREAM_CLIENT;
  if (want === "undici" || want === "fetch") return want;
  return typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "fetch" : "undici";
}

export class Upstreams {
  private readonly agent: Agent;
  readonly client = upstreamClient();
  constructor(
    private readonly breakers: BreakerRegistry,
    readonly timeouts: Timeouts = DEFAULT_TIMEOUTS,
  ) {
    this.agent = new Agent({ connections: 256, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, headersTimeout: timeouts.headers_ms, bodyTimeout: timeouts.idle_ms });
  }

  async request(route: Route, path: string, opts: RequestOpts): Promise<UpstreamResponse> {
    const url = new URL(route.base);
    const breaker = this.breakers.get(url.origin);
    if (!breaker.tryAcquire()) {
      const after = breaker.retryAfterMs();
      throw new UpstreamFailure("circuit_open", `upstream ${url.origin} is failing; the gateway stopped calling it for ${Math.ceil(after / 1000)} s (circuit breaker open)`, after);
    }
    if (this.client === "fetch") return this.viaFetch(url, path, opts, breaker);
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

  /**
   * The same call over Bun's native HTTP client: same time limits (until the response headers;
   * silence between body chunks), same abort, breaker and error classification as the undici path.
   */
  private async viaFetch(url: URL, path: string, opts: RequestOpts, breaker: ReturnType<BreakerRegistry["get"]>): Promise<UpstreamResponse> {
    const origin = url.origin;
    const t = this.timeouts;
    const ac = new AbortController();
    let why: "headers" | "idle" | "client" | undefined;
    const onAbort = () => {
      why ??= "client";
      ac.abort();
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const detach = () => opts.signal?.removeEventListener("abort", onAbort);
    if (opts.signal?.aborted) onAbort();
    let timer: ReturnType<typeof setTimeout> | undefined = setTimeout(() => {
      why ??= "headers";
      ac.abort();
    }, t.headers_ms);
    const failureOf = (e: unknown): UpstreamFailure => {
      if (e instanceof UpstreamFailure) return e;
      if (why === "headers") return new UpstreamFailure("timeout", `upstream ${origin} did not answer within ${Math.round(t.headers_ms / 1000)} s`);
      if (why === "idle") return new UpstreamFailure("timeout", `upstream ${origin} went silent for ${Math.round(t.idle_ms / 1000)} s mid-response`);
      if (why === "client") return new UpstreamFailure("aborted", "request aborted");
      return classify(e, origin, t);
    };
    let res: Response;
    try {
      res = await fetch(`${origin}${url.pathname.replace(/\/+$/, "")}${path}`, { method: opts.method, headers: opts.headers, body: opts.body, signal: ac.signal, redirect: "manual" });
    } catch (e) {
      clearTimeout(timer);
      detach();
      const failure = failureOf(e);
      if (failure.kind === "aborted") breaker.release();
      else breaker.failure();
      throw failure;
    }
    clearTimeout(timer);
    timer = undefined;
    if (res.status >= 500 || res.status === 429) breaker.failure();
    else breaker.success();
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      if (PASS_RES.test(k)) headers[k] = v;
    });
    const stream = res.body;
    const reader = stream?.getReader();
    return {
      status: res.status,
      headers,
      body: {
        async *[Symbol.asyncIterator]() {
          if (!reader) return detach();
          try {
            for (;;) {
              timer = setTimeout(() => {
                why ??= "idle";
                ac.abort();
                reader.cancel().catch(() => {});
              }, t.idle_ms);
              const { value, done } = await reader.read();
              clearTimeout(timer);
              if (done) return;
              if (why) throw new Error("aborted");
              yield value as Uint8Array;
            }
          } catch (e) {
            clearTimeout(timer);
            const f = failureOf(e);
            if (f.kind !== "aborted") breaker.failure();
            throw f;
          } finally {
            detach();
          }
        },
      },
      abort: () => {
        why ??= "client";
        clearTimeout(timer);
        ac.abort();
        reader?.cancel().catch(() => {});
      },
    };
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => this.agent.destroy());
  }
}

type RequestOpts = { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal };

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
