/**
 * The Compiled Policy: the one artifact every enforcement point consumes (gateway, MCP
 * broker, harness hooks, kernel ring, interpreter ring, eval). Organised BY ASPECT.
 * Canonical JSON of the payload is what gets signed (see ../canonical.ts).
 *
 * CONTRACT.md pins the payload's top-level field names; fields may be added, none renamed.
 * The JSON Schema that validates it lives in ./schema.ts (kept in step with this file).
 */

export type CascadeLevel = "org" | "project" | "agent";

/** Why an effective value exists (`tappass policy explain`). */
export interface Because {
  level: CascadeLevel | "builtin";
  /** "pack:ID" | "file:PATH" | "function:F" | "category:C" | "concern:C" | "preset:P" | "tools:PATH" */
  source: string;
  detail: string;
}

export type Mode = "observe" | "warn" | "enforce" | "lockdown";
export type Preset = "starter" | "standard" | "regulated";
/** What a step does when it fires. Strictest wins when merging: block > redact > notify > log. */
export type StepAction = "block" | "redact" | "notify" | "log";

export interface PipelineStepConfig {
  /** Registered step name, e.g. "detect_secrets" (src/engine/pipeline/steps/<name>.ts). */
  name: string;
  enabled: boolean;
  action: StepAction;
  /** Step-specific settings (thresholds, detector subsets, windows, ...). */
  config: Record<string, unknown>;
}

export interface ToolSlots {
  /** The argument that names where data goes (email recipient, URL, bucket, path). */
  destination_param?: string;
  /** The argument that carries content leaving the agent (body, message, file content). */
  content_param?: string;
  /** The argument that carries a money amount. */
  amount_param?: string;
}

export interface ToolEntry {
  /** L3 capabilities this tool exercises, e.g. ["external_messaging"]. */
  capabilities: string[];
  slots?: ToolSlots;
  /** MCP server the tool lives on, when known. */
  server?: string;
  description?: string;
  /** JSON Schema of the tool's arguments, when the catalog pins one. */
  input_schema?: Record<string, unknown>;
}

/**
 * A per-argument constraint. `tool` is a tool name or glob ("*" = every tool); `param` an
 * argument name (dotted path allowed) or a slot ("slot:destination" | "slot:amount" | "slot:content").
 */
export interface ToolConstraint {
  tool: string;
  param: string;
  op: "max" | "min" | "deny_match" | "allow_match" | "enum";
  /** number for max/min; glob pattern(s) for deny_match/allow_match; list for enum */
  value: number | string | string[];
  because: Because[];
}

/** A Rego module carried for per-call decisions by the pipeline's apply_compiled_policy step. */
export interface RegoRuleModule {
  id: string;
  level: CascadeLevel | "builtin";
  source: string;
  /** Rego v1 source text. */
  module: string;
  /**
   * Queries the pipeline evaluates with the call as `input`, e.g. "data.tappass.tool.deny".
   * A non-empty set/array/true result from a `deny` entrypoint denies the call; each member is a reason.
   */
  entrypoints: string[];
}

export interface CompiledPolicyPayload {
  /** Monotonic per install: only ever increases. */
  policy_version: number;
  sandbox_id: string | null;
  agent: string;
  project: string;
  org: string;
  /** ISO-8601 UTC */
  issued_at: string;
  /** ISO-8601 UTC; an enforcement point that sees it passed fails closed. */
  expires_at: string;

  identity: {
    agent_id: string;
    function: string | null;
    categories: string[];
    concerns: string[];
    capabilities: string[];
    forbidden_capabilities: string[];
  };
  network: {
    /** "deny": no egress; "allowlist": only allow_domains; "open": anything not denied. */
    egress: "deny" | "allowlist" | "open";
    allow_domains: string[];
    deny_domains: string[];
    deny_categories: string[];
  };
  filesystem: {
    /** The agent's working directory ("${cwd}" = where exec was started). */
    workspace: string;
    read_only: string[];
    read_write: string[];
    deny_paths: string[];
  };
  tools: {
    /** What happens to a tool in neither allow nor deny: deny (queued for approval) or allow. */
    default: "deny" | "allow";
    /** Tool names or globs. Deny beats allow. */
    allow: string[];
    deny: string[];
    denied_capabilities: string[];
    /** Known tools (the tool catalog after tools.yaml edits), by name. */
    catalog: Record<string, ToolEntry>;
    constraints: ToolConstraint[];
    /** Per-tool argument ACL: which fields may (allow_fields) or may not (deny_fields) be set. */
    schemas_acl: Record<string, { allow_fields?: string[]; deny_fields?: string[] }>;
    /** Shell command patterns denied to shell-like tools (globs over the command line). */
    dangerous_commands: string[];
    /** Paths no tool argument may touch (globs; ~ and env vars expanded at enforcement). */
    forbidden_zones: string[];
  };
  interpreter: {
    host_functions: string[];
    memory_mb: number;
    cpu_time_ms: number;
  };
  budget: {
    tokens_per_day: number | null;
    dollars_per_month: number | null;
    requests_per_minute: number | null;
    tool_calls_per_minute: number | null;
  };
  compliance_tags: string[];
  pipeline: {
    mode: Mode;
    preset: Preset;
    steps: PipelineStepConfig[];
  };
  rules: RegoRuleModule[];
  /** Model routing for the gateway (optional; absent = infer provider from the wire format). */
  models?: {
    allow: string[];
    deny: string[];
    routes: Array<{ match: string; provider: "openai" | "anthropic" | "openai_compatible" | "gemini"; base_url?: string; key_env?: string }>;
  };
}

export interface CompiledPolicyEnvelope {
  payload: CompiledPolicyPayload;
  /** "ed25519:<key_id>:<base64>" over canonicalJson(payload) */
  signature: string;
}

/** The aspect names, in payload order (used by explain and by step metadata). */
export const ASPECTS = [
  "identity",
  "network",
  "filesystem",
  "tools",
  "interpreter",
  "budget",
  "compliance_tags",
  "pipeline",
  "rules",
] as const;
export type Aspect = (typeof ASPECTS)[number];
