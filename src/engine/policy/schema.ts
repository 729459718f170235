/**
 * JSON Schema of the Compiled Policy (payload and signed envelope), kept in step with types.ts.
 * Every compiled policy is validated before it is signed; verifiers validate before trusting.
 */
import Ajv, { type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";

const strs = { type: "array", items: { type: "string" } } as const;
const nint = { anyOf: [{ type: "integer", minimum: 0 }, { type: "null" }] } as const;
const because = {
  type: "object",
  required: ["level", "source", "detail"],
  additionalProperties: false,
  properties: { level: { enum: ["org", "project", "agent", "builtin"] }, source: { type: "string" }, detail: { type: "string" } },
} as const;
/** ToolSlots (types.ts) as JSON Schema: shared by the Compiled Policy and the tools.yaml format. */
export const TOOL_SLOTS_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: { destination_param: { type: "string" }, content_param: { type: "string" }, amount_param: { type: "string" } },
} as const;

const toolEntry = {
  type: "object",
  required: ["capabilities"],
  additionalProperties: false,
  properties: {
    capabilities: strs,
    slots: TOOL_SLOTS_SCHEMA,
    server: { type: "string" },
    description: { type: "string" },
    input_schema: { type: "object" },
  },
} as const;

export const PAYLOAD_SCHEMA = {
  $id: "https://tappass.dev/schemas/compiled-policy-payload.json",
  type: "object",
  additionalProperties: false,
  required: [
    "policy_version", "sandbox_id", "agent", "project", "org", "issued_at", "expires_at", "identity", "network",
    "filesystem", "tools", "interpreter", "budget", "compliance_tags", "pipeline", "rules",
  ],
  properties: {
    policy_version: { type: "integer", minimum: 1 },
    sandbox_id: { anyOf: [{ type: "string", minLength: 1 }, { type: "null" }] },
    agent: { type: "string", minLength: 1 },
    project: { type: "string", minLength: 1 },
    org: { type: "string", minLength: 1 },
    issued_at: { type: "string", format: "date-time" },
    expires_at: { type: "string", format: "date-time" },
    identity: {
      type: "object",
      additionalProperties: false,
      required: ["agent_id", "function", "categories", "concerns", "capabilities", "forbidden_capabilities"],
      properties: {
        agent_id: { type: "string", minLength: 1 },
        function: { anyOf: [{ type: "string" }, { type: "null" }] },
        categories: strs,
        concerns: strs,
        capabilities: strs,
        forbidden_capabilities: strs,
      },
    },
    network: {
      type: "object",
      additionalProperties: false,
      required: ["egress", "allow_domains", "deny_domains", "deny_categories"],
      properties: { egress: { enum: ["deny", "allowlist", "open"] }, allow_domains: strs, deny_domains: strs, deny_categories: strs },
    },
    filesystem: {
      type: "object",
      additionalProperties: false,
      required: ["workspace", "read_only", "read_write", "deny_paths"],
      properties: { workspace: { type: "string" }, read_only: strs, read_write: strs, deny_paths: strs },
    },
    tools: {
      type: "object",
      additionalProperties: false,
      required: ["default", "allow", "deny", "denied_capabilities", "catalog", "constraints", "schemas_acl", "dangerous_commands", "forbidden_zones"],
      properties: {
        default: { enum: ["deny", "allow"] },
        allow: strs,
        deny: strs,
        denied_capabilities: strs,
        catalog: { type: "object", additionalProperties: toolEntry },
        constraints: {
          type: "array",
          items: {
            type: "object",
            additionalProperties: false,
            required: ["tool", "param", "op", "value", "because"],
            properties: {
              tool: { type: "string" },
              param: { type: "string" },
              op: { enum: ["max", "min", "deny_match", "allow_match", "enum"] },
              value: { anyOf: [{ type: "number" }, { type: "string" }, strs] },
              because: { type: "array", items: because },
            },
          },
        },
        schemas_acl: {
          type: "object",
          additionalProperties: { type: "object", additionalProperties: false, properties: { allow_fields: strs, deny_fields: strs } },
        },
        dangerous_commands: strs,
        forbidden_zones: strs,
      },
    },
    interpreter: {
      type: "object",
      additionalProperties: false,
      required: ["host_functions", "memory_mb", "cpu_time_ms"],
      properties: { host_functions: strs, memory_mb: { type: "integer", minimum: 1 }, cpu_time_ms: { type: "integer", minimum: 1 } },
    },
    budget: {
      type: "object",
      additionalProperties: false,
      required: ["tokens_per_day", "dollars_per_month", "requests_per_minute", "tool_calls_per_minute"],
      properties: {
        tokens_per_day: nint,
        dollars_per_month: { anyOf: [{ type: "number", minimum: 0 }, { type: "null" }] },
        requests_per_minute: nint,
        tool_calls_per_minute: nint,
      },
    },
    compliance_tags: strs,
    pipeline: {
      type: "object",
      additionalProperties: false,
      required: ["mode", "preset", "steps"],
      properties: {
        mode: { enum: ["observe", "warn", "enforce", "lockdown"] },
        preset: { enum: ["starter", "standard", "regulated"] },
        steps: {
          type: "array",
          items: {
            type: "object",
            additionalProperties: false,
            required: ["name", "enabled", "action", "config"],
            properties: {
              name: { type: "string", pattern: "^[a-z][a-z0-9_]*$" },
              enabled: { type: "boolean" },
              action: { enum: ["block", "redact", "notify", "log"] },
              config: { type: "object" },
            },
          },
        },
      },
    },
    rules: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["id", "level", "source", "module", "entrypoints"],
        properties: {
          id: { type: "string", minLength: 1 },
          level: { enum: ["org", "project", "agent", "builtin"] },
          source: { type: "string" },
          module: { type: "string" },
          entrypoints: { type: "array", items: { type: "string", pattern: "^data\\." } },
        },
      },
    },
    models: {
      type: "object",
      additionalProperties: false,
      required: ["allow", "deny", "routes"],
      properties: {
        allow: strs,
        deny: strs,
        routes: {
          type: "array",
          items: {
            type: "object",
            additionalProperties: false,
            required: ["match", "provider"],
            properties: { match: { type: "string" }, provider: { enum: ["openai", "anthropic", "openai_compatible", "gemini"] }, base_url: { type: "string" }, key_env: { type: "string" } },
          },
        },
      },
    },
  },
} as const;

export const ENVELOPE_SCHEMA = {
  $id: "https://tappass.dev/schemas/compiled-policy-envelope.json",
  type: "object",
  additionalProperties: false,
  required: ["payload", "signature"],
  properties: {
    payload: { $ref: "https://tappass.dev/schemas/compiled-policy-payload.json" },
    signature: { type: "string", pattern: "^ed25519:[^:]+:[A-Za-z0-9+/=]+$" },
  },
} as const;

let validators: { payload: ValidateFunction; envelope: ValidateFunction } | undefined;

/** The precompiled validators (scripts/gen-schema-validators.ts), when present and current. */
function pregenerated(): typeof validators {
  try {
    const { createHash } = require("node:crypto") as typeof import("node:crypto");
    const gen = require("./schema.validators.gen.js") as { validatePayload: ValidateFunction; validateEnvelope: ValidateFunction; schemaHash: string };
    const hash = createHash("sha256").update(JSON.stringify([PAYLOAD_SCHEMA, ENVELOPE_SCHEMA])).digest("hex").slice(0, 16);
    return gen.schemaHash === hash ? { payload: gen.validatePayload, envelope: gen.validateEnvelope } : undefined;
  } catch {
    return undefined;
  }
}

function get() {
  validators ??= pregenerated();
  if (!validators) {
    // Lean options: this compiles on first use in every process (gateway, broker, CLI).
    const ajv = new Ajv({ allErrors: false, strict: false, code: { optimize: false } });
    addFormats(ajv, ["date-time"]);
    ajv.addSchema(PAYLOAD_SCHEMA);
    validators = { payload: ajv.getSchema(PAYLOAD_SCHEMA.$id) as ValidateFunction, envelope: ajv.compile(ENVELOPE_SCHEMA) };
  }
  return validators;
}

export type SchemaResult = { ok: true } | { ok: false; errors: string[] };

const result = (v: ValidateFunction, x: unknown): SchemaResult =>
  v(x) ? { ok: true } : { ok: false, errors: (v.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`) };

export const validatePayload = (x: unknown): SchemaResult => result(get().payload, x);
export const validateEnvelope = (x: unknown): SchemaResult => result(get().envelope, x);
