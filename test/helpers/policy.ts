/**
 * Test fixture: a complete, realistic Compiled Policy payload (standard preset by default,
 * regulated on request) and a properly signed envelope, for every engineer's tests until
 * (and alongside) the real compiler (src/engine/policy/index.ts compileForAgent).
 *
 *   const keys = loadKeys(home);
 *   const env = signedEnvelope(testPayload({ pipeline: { mode: "observe" } }), keys);
 *   const pipeline = createPipeline({ envelope: env, db, keys });
 */
import { canonicalJson } from "../../src/engine/canonical.ts";
import { signatureString, utf8 } from "../../src/engine/crypto/ed25519.ts";
import type { Keys } from "../../src/engine/crypto/keys.ts";
import type {
  CompiledPolicyEnvelope,
  CompiledPolicyPayload,
  PipelineStepConfig,
  Preset,
  StepAction,
} from "../../src/engine/policy/types.ts";

export type DeepPartial<T> = T extends (infer U)[]
  ? U[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

const step = (name: string, action: StepAction, config: Record<string, unknown> = {}, enabled = true): PipelineStepConfig => ({
  name,
  enabled,
  action,
  config,
});

/** The pipeline of a preset, in run order (the step's own phase decides where it runs). */
export function presetSteps(preset: Preset = "standard"): PipelineStepConfig[] {
  const regulated = preset === "regulated";
  const starter = preset === "starter";
  return [
    step("check_policy_fresh", "block"),
    step("verify_capability_token", "block", { max_ttl_s: 300 }),
    step("enforce_session_scope", "block"),
    step("enforce_rate_limit", "block"),
    step("enforce_token_budget", "block"),
    step("enforce_dollar_budget", "block"),
    step("detect_secrets", "block", { threshold: 0.5 }),
    step("detect_pii", regulated ? "notify" : "log", { threshold: 0.5 }),
    step("redact_pii_in_prompt", "redact", { kinds: ["prompt", "tool_output", "tool_args"] }, !starter),
    step("detect_prompt_injection", "block", { threshold: regulated ? 0.5 : 0.7 }),
    step("detect_jailbreak", "block", { threshold: regulated ? 0.5 : 0.7 }),
    step("detect_exfil", "block", { threshold: 0.6 }),
    step("enforce_no_train_flag", regulated ? "block" : "log", {}, !starter),
    step("tools_denied", "block"),
    step("tools_allowed", "block"),
    step("denied_tool_categories", "block"),
    step("forbidden_capabilities", "block"),
    step("tool_arg_validation", "block"),
    step("schema_acl", "block"),
    step("tool_constraints", "block"),
    step("forbidden_zones", "block"),
    step("dangerous_commands", "block"),
    step("loop_guard", "block", { max_repeats: regulated ? 3 : 5, window_s: 300 }),
    step("tool_pinning", "block", {}, !starter),
    step("enforce_tool_call_rate", "block"),
    step("apply_compiled_policy", "block"),
    step("pii_restore", "redact", {}, !starter),
    step("scan_output", "block"),
    step("detect_secrets_in_response", regulated ? "block" : "redact"),
    step("detect_pii_in_response", regulated ? "redact" : "log"),
    step("redact_response", "redact", {}, regulated),
    step("emit_audit_row", "log"),
    step("hash_chain_link", "log"),
    step("sign_mandate", "log", {}, regulated),
  ];
}

/** A Rego module the apply_compiled_policy step evaluates with the call as input. */
export const EXTERNAL_EMAIL_RULE = `package tappass.tool

import rego.v1

deny contains msg if {
  input.tool.name == "send_email"
  not endswith(input.tool.arguments.to, "@acme.example")
  msg := concat("", ["send_email to ", input.tool.arguments.to, ": external recipients need approval"])
}
`;

export function basePayload(preset: Preset = "standard"): CompiledPolicyPayload {
  const now = Date.now();
  const regulated = preset === "regulated";
  return {
    policy_version: 7,
    sandbox_id: null,
    agent: "mailer",
    project: "support",
    org: "acme",
    issued_at: new Date(now - 60_000).toISOString(),
    expires_at: new Date(now + 24 * 3600_000).toISOString(),
    identity: {
      agent_id: "mailer",
      function: "customer_support",
      categories: ["email", "ticketing"],
      concerns: ["data_leakage", "prompt_injection"],
      capabilities: ["external_messaging", "filesystem_read", "shell_exec", "network_egress"],
      forbidden_capabilities: ["payments", "credential_access"],
    },
    network: {
      egress: "allowlist",
      allow_domains: ["api.openai.com", "api.anthropic.com", "*.acme.example"],
      deny_domains: ["*.pastebin.com", "webhook.site"],
      deny_categories: ["file_sharing"],
    },
    filesystem: {
      workspace: "${cwd}",
      read_only: ["/usr", "/etc"],
      read_write: ["${cwd}", "/tmp"],
      deny_paths: ["~/.ssh", "~/.aws", "/etc/shadow"],
    },
    tools: {
      default: "deny",
      allow: ["send_email", "read_file", "write_file", "search_docs", "Bash", "http_get", "create_ticket", "transfer_funds"],
      deny: ["delete_*", "mcp__*__admin_*"],
      denied_capabilities: ["destructive_admin"],
      catalog: {
        send_email: {
          capabilities: ["external_messaging"],
          slots: { destination_param: "to", content_param: "body" },
          description: "Send an email to a recipient",
          input_schema: {
            type: "object",
            properties: { to: { type: "string" }, subject: { type: "string" }, body: { type: "string" }, cc: { type: "array", items: { type: "string" } } },
            required: ["to", "body"],
            additionalProperties: false,
          },
        },
        read_file: {
          capabilities: ["filesystem_read"],
          slots: { destination_param: "path" },
          input_schema: { type: "object", properties: { path: { type: "string" } }, required: ["path"] },
        },
        write_file: {
          capabilities: ["filesystem_write"],
          slots: { destination_param: "path", content_param: "content" },
          input_schema: { type: "object", properties: { path: { type: "string" }, content: { type: "string" } }, required: ["path", "content"] },
        },
        Bash: {
          capabilities: ["shell_exec"],
          input_schema: { type: "object", properties: { command: { type: "string" }, timeout: { type: "number" } }, required: ["command"] },
        },
        http_get: {
          capabilities: ["network_egress"],
          slots: { destination_param: "url" },
          input_schema: { type: "object", properties: { url: { type: "string" } }, required: ["url"] },
        },
        search_docs: { capabilities: [], input_schema: { type: "object", properties: { query: { type: "string" } }, required: ["query"] } },
        create_ticket: { capabilities: ["ticketing"], slots: { content_param: "body" } },
        transfer_funds: {
          capabilities: ["payments"],
          slots: { destination_param: "iban", amount_param: "amount" },
          input_schema: { type: "object", properties: { iban: { type: "string" }, amount: { type: "number" } }, required: ["iban", "amount"] },
        },
        drop_database: { capabilities: ["destructive_admin"] },
      },
      constraints: [
        {
          tool: "send_email",
          param: "slot:destination",
          op: "deny_match",
          value: ["*.us", "*@*.us"],
          because: [{ level: "org", source: "pack:gdpr", detail: "no personal data to US recipients" }],
        },
        {
          tool: "*",
          param: "slot:amount",
          op: "max",
          value: 1000,
          because: [{ level: "project", source: "file:policies/support.yaml", detail: "amount ceiling 1000" }],
        },
      ],
      schemas_acl: { send_email: { deny_fields: ["bcc"] } },
      dangerous_commands: ["rm -rf /*", "curl * | sh", "curl * | bash", "wget * | sh", "mkfs*", "dd if=* of=/dev/*", "chmod -R 777 /*"],
      forbidden_zones: ["~/.ssh/**", "~/.aws/**", "/etc/shadow", "~/.config/gcloud/**", "~/.kube/config"],
    },
    interpreter: { host_functions: ["fetch_allowed", "read_workspace"], memory_mb: 128, cpu_time_ms: 2000 },
    budget: {
      tokens_per_day: regulated ? 200_000 : 1_000_000,
      dollars_per_month: regulated ? 50 : 200,
      requests_per_minute: 120,
      tool_calls_per_minute: 60,
    },
    compliance_tags: regulated ? ["gdpr", "eu-ai-act", "owasp-llm"] : ["owasp-llm"],
    pipeline: { mode: "enforce", preset, steps: presetSteps(preset) },
    rules: [
      {
        id: "external-email",
        level: "org",
        source: "file:policies/external-email.rego",
        module: EXTERNAL_EMAIL_RULE,
        entrypoints: ["data.tappass.tool.deny"],
      },
    ],
    models: {
      allow: ["gpt-4o*", "gpt-4.1*", "claude-*"],
      deny: [],
      routes: [
        { match: "gpt-*", provider: "openai" },
        { match: "claude-*", provider: "anthropic" },
      ],
    },
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Deep merge: objects merge, arrays and scalars replace. */
export function deepMerge<T>(base: T, over: unknown): T {
  if (over === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(over)) return over as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = v === undefined ? out[k] : deepMerge(out[k], v);
  return out as T;
}

/**
 * A complete standard-preset payload; `overrides` deep-merge over it (arrays replace). Pass
 * `{ pipeline: { preset: "regulated" } }` to get the regulated preset's steps and budgets.
 */
export function testPayload(overrides: DeepPartial<CompiledPolicyPayload> = {}): CompiledPolicyPayload {
  const preset = (overrides.pipeline?.preset ?? "standard") as Preset;
  return deepMerge(basePayload(preset), overrides);
}

/** Change one step's config/action/enabled in a payload's pipeline (returns a new payload). */
export function withStep(payload: CompiledPolicyPayload, name: string, patch: Partial<PipelineStepConfig>): CompiledPolicyPayload {
  const steps = payload.pipeline.steps.map((s) => (s.name === name ? { ...s, ...patch, config: { ...s.config, ...(patch.config ?? {}) } } : s));
  if (!steps.some((s) => s.name === name)) steps.push({ name, enabled: true, action: "block", config: {}, ...patch });
  return { ...payload, pipeline: { ...payload.pipeline, steps } };
}

/** Sign a payload with the install's Ed25519 key, as the compiler does. */
export function signedEnvelope(payload: CompiledPolicyPayload, keys: Keys): CompiledPolicyEnvelope {
  return { payload, signature: signatureString(keys.ed25519.kid, utf8(canonicalJson(payload)), keys.ed25519.secret) };
}
