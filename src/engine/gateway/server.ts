/**
 * The gateway's request handler: one governed call per model request.
 *
 *   authenticate (capability token) → read the wire request into segments and tool calls →
 *   before_call → write rewrites back → route + real provider key → upstream →
 *   after_call over the answer (whole, or streamed through the guard) → write rewrites back,
 *   strip denied tool calls → finish (one audit row: queued before an allowed answer goes out,
 *   committed right after it; see audit/trail.ts)
 *
 * Every response carries x-tappass-trace-id; every error is in the client's own format.
 */
import { AuditTrail } from "../audit/trail.ts";
import type { Keys } from "../crypto/keys.ts";
import { TapPassError } from "../errors.ts";
import { costOf } from "../pipeline/prices.ts";
import { newTraceId } from "../pipeline/runner.ts";
import type { CallContext, GovernedCall, Pipeline, ToolCall } from "../pipeline/types.ts";
import type { CompiledPolicyEnvelope } from "../policy/types.ts";
import type { Db } from "../store/db.ts";
import { anthropicMessages } from "./anthropic-messages.ts";
import { authenticate, type ProviderKeySource, resolveProviderKey } from "./credentials.ts";
import { openaiChat } from "./openai-chat.ts";
import { geminiListRoute, geminiModelEntry, geminiRoute } from "./gemini-generate.ts";
import { openaiResponses } from "./openai-responses.ts";
import { addUncovered } from "./paths.ts";
import { relay, type FinalDecision, type StreamHooks, type StreamSummary } from "./stream.ts";
import { TextGuard } from "./stream-guard.ts";
import { restorer, type StreamInspectorFactory, streamInspector } from "./stream-inspector.ts";
import { forwardHeaders, resolveRoute, type Route, type UpstreamBases, UpstreamFailure, type Upstreams } from "./upstreams.ts";
import { estimateTokens, type Usage } from "./usage.ts";
import type { Body, WireAdapter, WireError } from "./wire.ts";

export interface GatewayStats {
  calls: number;
  denied: number;
  tokens_in: number;
  tokens_out: number;
  cost_usd: number;
  trace_ids: string[];
  /** What was refused, newest last (bounded): for `tappass exec`'s summary. */
  denials: Array<{ step: string; reason: string; trace_id: string; status: number }>;
}

function noteDenial(stats: GatewayStats, d: { step: string; reason: string; trace_id: string; status: number }): void {
  stats.denied++;
  if (stats.denials.length >= 1000) stats.denials.shift();
  stats.denials.push(d);
}

export interface HandlerDeps {
  pipeline: Pipeline;
  envelope: CompiledPolicyEnvelope;
  db: Db;
  keys: Keys;
  upstreams: Upstreams;
  bases: UpstreamBases;
  providerKeys: ProviderKeySource;
  stats: GatewayStats;
  /** Called after each call's audit row is written (tests, exec summary). */
  onCall?: (info: { trace_id: string; denied: boolean; status: number }) => void;
  /** When rows are committed, and a row that could not be (audit/trail.ts). */
  trail: AuditTrail;
}

/** Commit the call's row after its answer went out (audit/trail.ts); resolves once it is written or has failed. */
function finishAfter(deps: HandlerDeps, call: GovernedCall, meta: Record<string, unknown>, denied: boolean): Promise<void> {
  const trace_id = call.ctx.trace_id;
  return deps.trail.follow(trace_id, call.finish({ meta, trailing: true }), () => deps.onCall?.({ trace_id, denied, status: 200 }));
}

const ROUTES: Record<string, WireAdapter> = {
  "/v1/chat/completions": openaiChat,
  "/chat/completions": openaiChat,
  "/v1/responses": openaiResponses,
  "/responses": openaiResponses,
  "/v1/messages": anthropicMessages,
  "/messages": anthropicMessages,
};

const MAX_TRACE_IDS = 10_000;

function json(body: unknown, status: number, trace: string, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "x-tappass-trace-id": trace, ...extra } });
}

function errorResponse(a: WireAdapter, e: WireError, trace: string, extra: Record<string, string> = {}): Response {
  return json(a.errorBody(e), e.status, trace, extra);
}

/** Which wire family a non-model route (GET /v1/models) answers in. */
function familyOf(req: Request): WireAdapter {
  return req.headers.has("anthropic-version") || req.headers.has("x-api-key") ? anthropicMessages : openaiChat;
}

export function createHandler(deps: HandlerDeps): (req: Request) => Promise<Response> {
  let inspector: StreamInspectorFactory | undefined;
  const agent = deps.envelope.payload.agent;
  const getInspector = () => (inspector ??= streamInspector(deps.envelope, deps.db, deps.keys));

  return async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const path = url.pathname.replace(/\/+$/, "") || "/";
    if (path === "/healthz" || path === "/health") {
      return json({ ok: true, agent, policy_version: deps.envelope.payload.policy_version, calls: deps.stats.calls }, 200, newTraceId());
    }
    const gemini = ROUTES[path] ? undefined : geminiRoute(path, url.searchParams);
    if (gemini?.error) return errorResponse(gemini.adapter, gemini.error, newTraceId());
    const adapter = ROUTES[path] ?? gemini?.adapter;
    if (path === "/v1/models" || path === "/models") return models(deps, req, familyOf(req), "/v1/models");
    const geminiList = geminiListRoute(path);
    if (geminiList) return models(deps, req, geminiList.adapter, `/${geminiList.version}/models`);
    if (!adapter) {
      const a = req.headers.has("x-goog-api-key") ? (geminiRoute("/v1beta/models/_:generateContent", url.searchParams)?.adapter ?? openaiChat) : familyOf(req);
      return errorResponse(a, { status: 404, kind: "not_found", message: `TapPass gateway: no route ${req.method} ${url.pathname} (serves POST /v1/chat/completions, POST /v1/responses, POST /v1/messages, POST /v1beta/models/MODEL:generateContent|streamGenerateContent|countTokens, GET /v1/models, GET /v1beta/models, GET /healthz)` }, newTraceId());
    }
    if (req.method !== "POST") return errorResponse(adapter, { status: 405, kind: "bad_request", message: `TapPass gateway: ${url.pathname} takes POST` }, newTraceId(), { allow: "POST" });
    return governedCall(deps, adapter, req, getInspector);
  };
}

async function governedCall(deps: HandlerDeps, a: WireAdapter, req: Request, getInspector: () => StreamInspectorFactory): Promise<Response> {
  const trace_id = newTraceId();
  const policy = deps.envelope.payload;
  const agent = policy.agent;
  const stats = deps.stats;
  stats.calls++;
  if (stats.trace_ids.length < MAX_TRACE_IDS) stats.trace_ids.push(trace_id);

  // 1. who is calling
  const auth = await authenticate(deps.keys, req.headers, agent);
  if (!auth.ok) {
    const call = deps.pipeline.begin({ trace_id, surface: "llm", agent, session_id: "unauthenticated", token: auth.token ?? undefined, meta: { wire: a.format, path: new URL(req.url).pathname } });
    const v = await call.run("before_call");
    noteDenial(stats, { step: "verify_capability_token", reason: auth.message, trace_id, status: 401 });
    // the policy has no verify_capability_token step (or it let the call through): the gateway refuses anyway (fail closed)
    if (v.decision !== "deny") call.deny("gateway:auth", auth.message, { code: auth.code, note: "the gateway refused the call without a valid capability token (fail closed)" }, "identity");
    await call.finish({ meta: { http_status: 401 } });
    return errorResponse(a, { status: 401, kind: "auth", code: auth.code, message: `TapPass: ${auth.message}` }, trace_id);
  }

  // An earlier answer's row could not be committed: refuse until the log takes one (this refusal's row).
  const fault = deps.trail.fault;
  if (fault) {
    const call = deps.pipeline.begin({ trace_id, surface: "llm", agent, session_id: auth.claims.sid, token: auth.token, claims: auth.claims as unknown as Record<string, unknown> });
    const reason = AuditTrail.reason(fault);
    call.deny("gateway:audit_unavailable", reason, { failed_trace_id: fault.trace_id }, "pipeline");
    noteDenial(stats, { step: "gateway:audit_unavailable", reason, trace_id, status: 503 });
    try {
      await call.finish({ meta: { wire: a.format, http_status: 503 } });
      deps.trail.recovered(fault);
    } catch {}
    return errorResponse(a, { status: 503, kind: "unavailable", code: "audit_unavailable", message: `TapPass gateway: ${reason}` }, trace_id);
  }

  // 2. the wire request
  let body: Body;
  let raw: string;
  try {
    raw = await readBody(req);
    const parsed = JSON.parse(raw);
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not a JSON object");
    body = parsed as Body;
  } catch (e) {
    const call = deps.pipeline.begin({ trace_id, surface: "llm", agent, session_id: auth.claims.sid, token: auth.token, claims: auth.claims as unknown as Record<string, unknown> });
    if (e instanceof BodyTooLarge) {
      await call.finish({ meta: { wire: a.format, http_status: 413, gateway_error: e.message } });
      return errorResponse(a, { status: 413, kind: "bad_request", code: "request_too_large", message: `TapPass gateway: ${e.message}` }, trace_id);
    }
    await call.finish({ meta: { wire: a.format, http_status: 400, gateway_error: `request body is not JSON: ${(e as Error).message}` } });
    return errorResponse(a, { status: 400, kind: "bad_request", message: `TapPass gateway: request body is not a JSON object (${(e as Error).message})` }, trace_id);
  }
  const pr = a.parseRequest(body);
  pr.prompt_chars += addUncovered(pr.set, body);
  const estimate = estimateTokens(pr.prompt_chars, pr.max_output);
  const call = deps.pipeline.begin({
    trace_id,
    surface: "llm",
    agent,
    session_id: auth.claims.sid,
    sandbox_id: auth.claims.sbx ?? policy.sandbox_id,
    token: auth.token,
    claims: auth.claims as unknown as Record<string, unknown>,
    model: pr.model,
    provider: a.family,
    request: pr.set.segments,
    tool_calls: pr.tool_calls,
    tool_schemas: pr.tool_schemas,
    estimate,
    meta: { wire: a.format, stream: pr.stream },
  });
  const ctx = call.ctx;

  const fail = async (e: WireError, meta: Record<string, unknown>, headers: Record<string, string> = {}) => {
    if (e.kind === "policy" || e.kind === "auth") noteDenial(stats, { step: e.code ?? e.kind, reason: e.message, trace_id, status: e.status });
    await call.finish({ meta: { http_status: e.status, ...meta } });
    deps.onCall?.({ trace_id, denied: e.kind === "policy", status: e.status });
    return errorResponse(a, e, trace_id, headers);
  };

  // 3. prompt-side pipeline
  let v1: Awaited<ReturnType<GovernedCall["run"]>>;
  try {
    v1 = await call.run("before_call");
  } catch (e) {
    call.deny("gateway:pipeline_error", `the pipeline failed: ${(e as Error).message}; denied (fail closed)`);
    return fail({ status: 500, kind: "internal", message: `TapPass gateway: the pipeline failed: ${(e as Error).message}; denied (fail closed)` }, { gateway_error: String(e) });
  }
  if (v1.decision === "deny") {
    const d = v1.denied_by ?? { step: "pipeline", reason: "denied by policy" };
    return fail({ status: 403, kind: "policy", code: d.step, message: `TapPass: request blocked by policy (${d.step}): ${d.reason}` }, {});
  }

  // 4. route, model policy, credentials
  const rr = resolveRoute(a.family, pr.model, policy, deps.bases);
  if (!rr.ok) {
    // models.allow / models.deny are not a pipeline aspect: the fragment's aspect is "none", the policy path is in the evidence
    call.deny(`gateway:${rr.code}`, rr.message, { code: rr.code, ...(pr.model !== undefined ? { model: pr.model } : {}), ...(rr.status === 403 ? { policy: rr.code === "models_denied" ? "models.deny" : "models.allow" } : {}) });
    return fail({ status: rr.status, kind: rr.status === 403 ? "policy" : "bad_request", code: rr.code, message: `TapPass: ${rr.message}` }, {});
  }
  const route = rr.route;
  let key: string;
  try {
    key = resolveProviderKey(deps.providerKeys, route.provider, route.key_env);
  } catch (e) {
    const msg = e instanceof TapPassError ? `${e.message} — ${e.hint ?? ""}` : String(e);
    // a missing provider key is configuration, not a transient fault: 424, which SDKs do not
    // retry (a 5xx sent Gemini CLI into minutes of backoff on the same error)
    return fail({ status: 424, kind: "precondition", code: e instanceof TapPassError ? e.code : "provider_key_missing", message: `TapPass gateway: ${msg}` }, { gateway_error: msg });
  }
  if (v1.modified) pr.set.writeBack(body);
  const { clientWantsUsage, changed } = a.prepareUpstream(body, pr.stream);
  // nothing rewritten: the client's own bytes go upstream (no re-serialising)
  const upstreamBody = v1.modified || changed ? JSON.stringify(body) : raw;
  ctx.meta.upstream = { provider: route.provider, origin: new URL(route.base).origin, ...(route.match ? { route: route.match } : {}) };

  // 5. upstream
  const t0 = performance.now();
  let up: Awaited<ReturnType<Upstreams["request"]>>;
  try {
    up = await deps.upstreams.request(route, a.upstreamPath, { method: "POST", headers: forwardHeaders(req.headers, route.provider, key), body: upstreamBody, signal: req.signal });
  } catch (e) {
    return upstreamFailure(a, e, fail, route);
  }
  if (up.status >= 400) {
    const text = await readAll(up.body).catch(() => "");
    return upstreamHttpError(a, up.status, text, up.headers, route, fail, trace_id);
  }

  if (pr.stream) {
    const inspectors = getInspector();
    const restore = inspectors.restorePii ? restorer(ctx.pii_vault) : (s: string) => s;
    let finalized: Promise<FinalDecision> | undefined;
    const hooks: StreamHooks = {
      guard: (o) => new TextGuard(inspectors.forCall(ctx, o), restore, () => [...ctx.pii_vault.keys()]),
      finalize: (s) => (finalized ??= finalizeStream(call, s, estimate)),
    };
    const t = a.newStream(hooks, { clientWantsUsage, model: pr.model });
    const stream = relay(up, t, async (info) => {
      if (!finalized) await hooks.finalize({ texts: [], tool_calls: [], cut: { step: "client", reason: info.clientGone ? "the client closed the stream" : (info.error?.message ?? "stream ended") } });
      const d = await finalized;
      const denied = !!d?.deny;
      if (d?.deny) noteDenial(stats, { step: d.deny.step, reason: d.deny.reason, trace_id, status: 200 });
      addUsage(stats, ctx);
      await finishAfter(deps, call, { http_status: 200, upstream_status: up.status, upstream_ms: Math.round(performance.now() - t0), stream_guard: { steps: inspectors.steps, hold_max_bytes: 1024 }, ...(info.clientGone ? { client_gone: true } : {}) }, denied);
    });
    return new Response(stream, { status: 200, headers: { ...up.headers, "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-tappass-trace-id": trace_id } });
  }

  // 6. whole answer
  let resBody: Body;
  let resText: string;
  try {
    resText = await readAll(up.body);
    resBody = JSON.parse(resText);
  } catch (e) {
    const f = e instanceof UpstreamFailure ? e : new UpstreamFailure("connect", `upstream ${new URL(route.base).origin} sent a body that is not JSON`);
    return upstreamFailure(a, f, fail, route);
  }
  const parsed = a.parseResponse(resBody);
  ctx.response = parsed.set.segments;
  const argsBefore = parsed.tool_calls.map((t) => JSON.stringify(t.arguments));
  ctx.tool_calls.push(...parsed.tool_calls);
  if (parsed.usage) ctx.usage = parsed.usage;
  ctx.meta.upstream_ms = Math.round(performance.now() - t0);
  let v2: Awaited<ReturnType<GovernedCall["run"]>>;
  try {
    v2 = await call.run("after_call");
  } catch (e) {
    call.deny("gateway:pipeline_error", `the response pipeline failed: ${(e as Error).message}; withheld (fail closed)`);
    return fail({ status: 500, kind: "internal", message: `TapPass gateway: the response pipeline failed: ${(e as Error).message}; withheld (fail closed)` }, { gateway_error: String(e) });
  }
  addUsage(stats, ctx);
  if (v2.decision === "deny") {
    const d = v2.denied_by ?? { step: "pipeline", reason: "denied by policy" };
    return fail({ status: 403, kind: "policy", code: d.step, message: `TapPass: response withheld by policy (${d.step}): ${d.reason}` }, { upstream_status: up.status });
  }
  if (v2.modified) {
    parsed.set.writeBack(resBody);
    writeToolArgs(a, resBody, parsed.tool_calls, argsBefore);
    a.stripToolCalls(resBody, parsed.tool_calls.filter((t) => t.removed));
  }
  void finishAfter(deps, call, { http_status: 200, upstream_status: up.status }, false);
  // nothing rewritten: the upstream's own bytes go back (no re-serialising)
  if (!v2.modified) return new Response(resText, { status: 200, headers: { "content-type": "application/json", "x-tappass-trace-id": trace_id, ...up.headers } });
  return json(resBody, 200, trace_id, up.headers);
}

async function finalizeStream(call: GovernedCall, s: StreamSummary, estimate: Usage): Promise<FinalDecision> {
  const ctx = call.ctx;
  ctx.response = s.texts.filter((t) => t.kind !== "tool_args").map((t) => ({ path: t.path, kind: "response" as const, role: "assistant", text: t.text }));
  ctx.tool_calls.push(...s.tool_calls);
  if (s.usage) ctx.usage = s.usage;
  else if (s.cut) ctx.usage = { input_tokens: estimate.input_tokens, output_tokens: Math.ceil(s.texts.reduce((n, t) => n + t.text.length, 0) / 4) };
  if (s.cut) ctx.meta.stream_cut = s.cut;
  let v: Awaited<ReturnType<GovernedCall["run"]>>;
  try {
    v = await call.run("after_call");
  } catch (e) {
    const v = call.deny("gateway:pipeline_error", `the response pipeline failed: ${(e as Error).message} (fail closed)`);
    return { deny: v.denied_by };
  }
  if (v.decision === "deny") return { deny: v.denied_by ?? { step: "pipeline", reason: "denied by policy" } };
  // the stream guard stopped the stream mid-way: a deny of the call (a client that went away is not)
  if (s.cut && s.cut.step !== "client") call.deny(s.cut.step, s.cut.reason, { stream_guard: true }, "pipeline");
  if (s.cut) return { deny: s.cut };
  return {};
}

function addUsage(stats: GatewayStats, ctx: CallContext): void {
  if (!ctx.usage) return;
  stats.tokens_in += ctx.usage.input_tokens;
  stats.tokens_out += ctx.usage.output_tokens;
  stats.cost_usd = Math.round((stats.cost_usd + costOf(ctx.model, ctx.usage)) * 1e8) / 1e8;
}

/** A step rewrote a model tool call's arguments (redaction): put them back into the wire body. */
function writeToolArgs(a: WireAdapter, body: Body, calls: ToolCall[], before: string[]): void {
  calls.forEach((t, i) => {
    if (!t.removed && JSON.stringify(t.arguments) !== before[i]) a.setToolArgs(body, t);
  });
}

/**
 * The largest request body the gateway reads (above any provider's own limit: Anthropic's is
 * 32 MB); a bigger one gets a 413 in the client's wire format, with a trace id and an audit row.
 */
const MAX_REQUEST_BYTES = 100 * 1024 * 1024;

class BodyTooLarge extends Error {
  constructor(max: number) {
    super(`request body is larger than the gateway accepts (${max / 1024 / 1024} MiB)`);
  }
}

async function readBody(req: Request): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? Number.NaN);
  if (declared > MAX_REQUEST_BYTES) throw new BodyTooLarge(MAX_REQUEST_BYTES);
  if (Number.isFinite(declared) || !req.body) return req.text();
  return readAll(req.body as unknown as AsyncIterable<Uint8Array>, MAX_REQUEST_BYTES); // chunked: counted as it arrives
}

/** A whole body as text; past `max` bytes, BodyTooLarge. */
async function readAll(body: AsyncIterable<Uint8Array>, max = Number.POSITIVE_INFINITY): Promise<string> {
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (n > max) throw new BodyTooLarge(max);
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString("utf8");
}

type Fail = (e: WireError, meta: Record<string, unknown>, headers?: Record<string, string>) => Promise<Response>;

function upstreamFailure(_a: WireAdapter, e: unknown, fail: Fail, route: Route): Promise<Response> {
  const f = e instanceof UpstreamFailure ? e : new UpstreamFailure("connect", String((e as Error)?.message ?? e));
  const origin = new URL(route.base).origin;
  if (f.kind === "circuit_open") {
    const secs = Math.max(1, Math.ceil((f.retryAfterMs ?? 1000) / 1000));
    return fail({ status: 503, kind: "unavailable", code: "circuit_open", message: `TapPass gateway: ${f.message}` }, { upstream_error: { kind: f.kind, origin } }, { "retry-after": String(secs) });
  }
  if (f.kind === "timeout") return fail({ status: 504, kind: "timeout", code: "upstream_timeout", message: `TapPass gateway: ${f.message}` }, { upstream_error: { kind: f.kind, origin } });
  if (f.kind === "aborted") return fail({ status: 499, kind: "bad_request", code: "client_closed", message: "TapPass gateway: the client closed the request" }, { upstream_error: { kind: f.kind, origin } });
  return fail({ status: 502, kind: "upstream", code: "upstream_unreachable", message: `TapPass gateway: ${f.message}` }, { upstream_error: { kind: f.kind, origin } });
}

function upstreamHttpError(_a: WireAdapter, status: number, text: string, headers: Record<string, string>, route: Route, fail: Fail, _trace: string): Promise<Response> {
  const origin = new URL(route.base).origin;
  let upstreamMsg = text.slice(0, 500);
  try {
    const j = JSON.parse(text);
    upstreamMsg = String(j?.error?.message ?? j?.message ?? upstreamMsg);
  } catch {}
  const meta = { upstream_status: status, upstream_error: { origin, message: upstreamMsg.slice(0, 300) } };
  const pass: Record<string, string> = {};
  if (headers["retry-after"]) pass["retry-after"] = headers["retry-after"];
  if (status === 401 || status === 403) {
    return fail({ status: 502, kind: "upstream", code: "upstream_auth", message: `TapPass gateway: upstream ${route.provider} (${origin}) rejected the gateway's provider key (HTTP ${status}: ${upstreamMsg}) — check the key configured for the gateway` }, meta);
  }
  if (status === 429) return fail({ status: 429, kind: "rate_limit", code: "upstream_rate_limited", message: `TapPass gateway: upstream ${route.provider} is rate limiting (HTTP 429): ${upstreamMsg}` }, meta, pass);
  if (status >= 500) return fail({ status: 502, kind: "upstream", code: `upstream_${status}`, message: `TapPass gateway: upstream ${route.provider} (${origin}) failed with HTTP ${status}: ${upstreamMsg}` }, meta, pass);
  return fail({ status, kind: status === 404 ? "not_found" : "bad_request", code: `upstream_${status}`, message: `upstream ${route.provider} refused the request (HTTP ${status}): ${upstreamMsg}` }, meta, pass);
}

async function models(deps: HandlerDeps, req: Request, a: WireAdapter, upstreamPath: string): Promise<Response> {
  const trace_id = newTraceId();
  const auth = await authenticate(deps.keys, req.headers, deps.envelope.payload.agent);
  if (!auth.ok) return errorResponse(a, { status: 401, kind: "auth", code: auth.code, message: `TapPass: ${auth.message}` }, trace_id);
  const m = deps.envelope.payload.models;
  const listed = (m?.allow ?? []).filter((p) => !/[*?]/.test(p));
  if (listed.length > 0) {
    if (a.family === "gemini") return json({ models: listed.map(geminiModelEntry) }, 200, trace_id);
    const data = listed.map((id) => (a.family === "anthropic" ? { type: "model", id, display_name: id, created_at: "1970-01-01T00:00:00Z" } : { id, object: "model", created: 0, owned_by: "tappass" }));
    return json(a.family === "anthropic" ? { data, has_more: false, first_id: listed[0], last_id: listed.at(-1) } : { object: "list", data }, 200, trace_id);
  }
  const probe = a.family === "anthropic" ? "claude" : a.family === "gemini" ? "gemini" : "gpt";
  const rr = resolveRoute(a.family, probe, { ...deps.envelope.payload, models: undefined }, deps.bases);
  if (!rr.ok) return errorResponse(a, { status: 502, kind: "upstream", message: rr.message }, trace_id);
  try {
    const key = resolveProviderKey(deps.providerKeys, rr.route.provider);
    const up = await deps.upstreams.request(rr.route, upstreamPath, { method: "GET", headers: forwardHeaders(req.headers, rr.route.provider, key), signal: req.signal });
    const text = await readAll(up.body);
    if (up.status >= 400) return errorResponse(a, { status: 502, kind: "upstream", message: `TapPass gateway: upstream ${upstreamPath} failed with HTTP ${up.status}` }, trace_id);
    const body = JSON.parse(text);
    if (m) {
      // Only what the policy lets the agent call: Gemini lists `models[].name` ("models/ID"), the others `data[].id`.
      const { globMatch } = await import("./upstreams.ts");
      const ok = (id: unknown) => typeof id === "string" && !m.deny.some((p) => globMatch(p, id)) && (m.allow.length === 0 || m.allow.some((p) => globMatch(p, id)));
      if (Array.isArray(body?.data)) body.data = body.data.filter((x: { id?: unknown }) => ok(x?.id));
      if (Array.isArray(body?.models)) body.models = body.models.filter((x: { name?: unknown }) => ok(typeof x?.name === "string" ? x.name.replace(/^models\//, "") : undefined));
    }
    return json(body, 200, trace_id);
  } catch (e) {
    return errorResponse(a, { status: 502, kind: "upstream", message: `TapPass gateway: ${(e as Error).message}` }, trace_id);
  }
}
