/**
 * The policy-source format (documented in policies/README.md). Every authoring input becomes a
 * Fragment: a policy YAML file, a Rego module's `tappass.aspects` result, a compliance pack, a
 * function, a data category, a concern, the built-in baseline. The cascade merges fragments.
 */
import { TOOL_SLOTS_SCHEMA } from "./schema.ts";
import type { Mode, Preset, StepAction, ToolSlots } from "./types.ts";

export interface StepOverride {
  enabled?: boolean;
  action?: StepAction;
  config?: Record<string, unknown>;
}

export interface ConstraintSpec {
  tool: string;
  param: string;
  op: "max" | "min" | "deny_match" | "allow_match" | "enum";
  value: number | string | string[];
  detail?: string;
}

/** A tools.yaml catalog edit: a new tool, or `extends: base` with "+cap" / "-cap" edits. */
export interface CatalogEdit {
  extends?: string;
  capabilities?: string[];
  slots?: ToolSlots;
  server?: string;
  description?: string;
  input_schema?: Record<string, unknown>;
}

export interface RuleSpec {
  id: string;
  module: string;
  entrypoints?: string[];
}

export interface Fragment {
  preset?: Preset;
  pipeline?: { mode?: Mode; preset?: Preset; steps?: Record<string, StepOverride> };
  tools?: {
    default?: "deny" | "allow";
    /** Ceiling: only these may be allowed (allow-lists intersect down the cascade). */
    allow?: string[];
    /** Grants: add tools to the agent's base set (refused if a floor denies them). */
    grant?: string[];
    /** Grant every catalog tool bound to these capabilities. */
    grant_capabilities?: string[];
    deny?: string[];
    denied_capabilities?: string[];
    constraints?: ConstraintSpec[];
    schemas_acl?: Record<string, { allow_fields?: string[]; deny_fields?: string[] }>;
    dangerous_commands?: string[];
    forbidden_zones?: string[];
  };
  network?: { egress?: "deny" | "allowlist" | "open"; allow_domains?: string[]; deny_domains?: string[]; deny_categories?: string[] };
  filesystem?: { workspace?: string; read_only?: string[]; read_write?: string[]; deny_paths?: string[] };
  interpreter?: { host_functions?: string[]; memory_mb?: number; cpu_time_ms?: number };
  budget?: { tokens_per_day?: number | null; dollars_per_month?: number | null; requests_per_minute?: number | null; tool_calls_per_minute?: number | null };
  compliance_tags?: string[];
  concerns?: string[];
  packs?: string[];
  models?: { allow?: string[]; deny?: string[]; routes?: Array<{ match: string; provider: "openai" | "anthropic" | "openai_compatible" | "gemini"; base_url?: string; key_env?: string }> };
  catalog?: Record<string, CatalogEdit>;
  /** Per-agent tightening: fragments that apply only to the named agent. */
  agents?: Record<string, Fragment>;
  rules?: RuleSpec[];
}

const strList = { type: "array", items: { type: "string", minLength: 1 } } as const;
const nullableInt = { anyOf: [{ type: "integer", minimum: 0 }, { type: "null" }] } as const;
const stepAction = { enum: ["block", "redact", "notify", "log"] } as const;
const presetEnum = { enum: ["starter", "standard", "regulated"] } as const;

const catalogEdit = {
  type: "object",
  additionalProperties: false,
  properties: {
    extends: { type: "string" },
    capabilities: strList,
    slots: TOOL_SLOTS_SCHEMA,
    server: { type: "string" },
    description: { type: "string" },
    input_schema: { type: "object" },
  },
} as const;

function fragmentSchema(withAgents: boolean): Record<string, unknown> {
  return {
    type: "object",
    additionalProperties: false,
    properties: {
      preset: presetEnum,
      pipeline: {
        type: "object",
        additionalProperties: false,
        properties: {
          mode: { enum: ["observe", "warn", "enforce", "lockdown"] },
          preset: presetEnum,
          steps: {
            type: "object",
            additionalProperties: {
              type: "object",
              additionalProperties: false,
              properties: { enabled: { type: "boolean" }, action: stepAction, config: { type: "object" } },
            },
          },
        },
      },
      tools: {
        type: "object",
        additionalProperties: false,
        properties: {
          default: { enum: ["deny", "allow"] },
          allow: strList,
          grant: strList,
          grant_capabilities: strList,
          deny: strList,
          denied_capabilities: strList,
          constraints: {
            type: "array",
            items: {
              type: "object",
              additionalProperties: false,
              required: ["tool", "param", "op", "value"],
              properties: {
                tool: { type: "string" },
                param: { type: "string" },
                op: { enum: ["max", "min", "deny_match", "allow_match", "enum"] },
                value: { anyOf: [{ type: "number" }, { type: "string" }, strList] },
                detail: { type: "string" },
              },
            },
          },
          schemas_acl: {
            type: "object",
            additionalProperties: {
              type: "object",
              additionalProperties: false,
              properties: { allow_fields: strList, deny_fields: strList },
            },
          },
          dangerous_commands: strList,
          forbidden_zones: strList,
        },
      },
      network: {
        type: "object",
        additionalProperties: false,
        properties: { egress: { enum: ["deny", "allowlist", "open"] }, allow_domains: strList, deny_domains: strList, deny_categories: strList },
      },
      filesystem: {
        type: "object",
        additionalProperties: false,
        properties: { workspace: { type: "string" }, read_only: strList, read_write: strList, deny_paths: strList },
      },
      interpreter: {
        type: "object",
        additionalProperties: false,
        properties: { host_functions: strList, memory_mb: { type: "integer", minimum: 1 }, cpu_time_ms: { type: "integer", minimum: 1 } },
      },
      budget: {
        type: "object",
        additionalProperties: false,
        properties: { tokens_per_day: nullableInt, dollars_per_month: { anyOf: [{ type: "number", minimum: 0 }, { type: "null" }] }, requests_per_minute: nullableInt, tool_calls_per_minute: nullableInt },
      },
      compliance_tags: strList,
      concerns: strList,
      packs: strList,
      models: {
        type: "object",
        additionalProperties: false,
        properties: {
          allow: strList,
          deny: strList,
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
      catalog: { type: "object", additionalProperties: catalogEdit },
      rules: {
        type: "array",
        items: {
          type: "object",
          additionalProperties: false,
          required: ["id", "module"],
          properties: { id: { type: "string" }, module: { type: "string" }, entrypoints: strList },
        },
      },
      ...(withAgents ? { agents: { type: "object", additionalProperties: fragmentSchema(false) } } : {}),
    },
  };
}

export const FRAGMENT_SCHEMA = fragmentSchema(true);
