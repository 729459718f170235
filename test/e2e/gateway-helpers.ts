/**
 * A governed gateway on loopback in front of the fake model, for the gateway e2e tests:
 * a fresh TAPPASS_HOME, the install's keys, a signed standard-preset policy for agent "mailer",
 * real capability tokens, and the gateway started through its library API.
 */
import { initInstall } from "../../src/engine/install.ts";
import { loadKeys } from "../../src/engine/crypto/keys.ts";
import { issueToken } from "../../src/engine/crypto/tokens.ts";
import { type Gateway, type GatewayOptions, startGateway } from "../../src/engine/gateway/index.ts";
import type { CompiledPolicyPayload } from "../../src/engine/policy/types.ts";
import { openState } from "../../src/engine/store/state.ts";
import { type FakeModel, startFakeModel } from "../helpers/fake-model.ts";
import { tempHome } from "../helpers/home.ts";
import { signedEnvelope, testPayload } from "../helpers/policy.ts";

export const OPENAI_KEY = "sk-proj-REALPROVIDERKEYopenai0000000000";
export const ANTHROPIC_KEY = "sk-ant-api03-REALPROVIDERKEYanthropic000000";
export const GEMINI_KEY = "AIzaSyREALPROVIDERKEYgemini00000000000";

export interface Rig {
  home: string;
  fm: FakeModel;
  gw: Gateway;
  token: string;
  tokenFor(opts?: { ttlSeconds?: number; agent?: string }): Promise<string>;
  close(): Promise<void>;
}

export async function rig(opts: { payload?: CompiledPolicyPayload; gateway?: Partial<GatewayOptions> } = {}): Promise<Rig> {
  const t = tempHome();
  await initInstall({ home: t.home, org: "acme" });
  const keys = loadKeys(t.home);
  const db = openState(t.home);
  const fm = await startFakeModel();
  const envelope = signedEnvelope(opts.payload ?? testPayload(), keys);
  const gw = await startGateway({
    envelope,
    db,
    keys,
    home: t.home,
    upstreams: { openai: fm.url, anthropic: fm.url, gemini: fm.url },
    providerKeys: { openai: OPENAI_KEY, anthropic: ANTHROPIC_KEY, gemini: GEMINI_KEY },
    ...(opts.gateway ?? {}),
  });
  const tokenFor = (o: { ttlSeconds?: number; agent?: string } = {}) => issueToken(keys, { agent: o.agent ?? envelope.payload.agent, ttlSeconds: o.ttlSeconds ?? 120 });
  return {
    home: t.home,
    fm,
    gw,
    token: await tokenFor(),
    tokenFor,
    async close() {
      await gw.close();
      await fm.close();
      t.cleanup();
    },
  };
}

/** SDK APIPromises are thenables whose base Promise settles at once; await them for expect(). */
export async function settle<T>(p: PromiseLike<T>): Promise<T> {
  return await p;
}

/** The audit rows once the rig's gateway has committed the rows of the answers it sent (they follow the answer). */
export async function settledRows(r: Rig): Promise<AuditRowView[]> {
  await r.gw.settled();
  return auditRows(r.home);
}

/** The audit rows of the install, oldest first (content parsed). */
export function auditRows(home: string): AuditRowView[] {
  const db = openState(home);
  // biome-ignore lint/suspicious/noExplicitAny: audit rows as stored
  return db.prepare<any>("SELECT seq, trace_id, surface, decision, content FROM audit_log ORDER BY seq").all().map((r) => {
    const c = r.content ? JSON.parse(r.content) : {};
    return { seq: r.seq, trace_id: r.trace_id, surface: r.surface, decision: r.decision, meta: c.meta ?? {}, step_decisions: c.step_decisions ?? [] };
  });
}

export interface AuditRowView {
  seq: number;
  trace_id: string;
  surface: string;
  decision: string;
  // biome-ignore lint/suspicious/noExplicitAny: audit meta is free-form
  meta: Record<string, any>;
  step_decisions: Array<{ step: string; decision: string; evidence?: Record<string, unknown> }>;
}
