/**
 * Rego in the cascade. A level's `.rego` modules are split by package:
 *  - package `tappass.aspects` (and sub-packages) is evaluated at COMPILE time with the agent's
 *    context as input; its rules yield aspect values (convention in policies/README.md) that
 *    become a Fragment like any YAML source;
 *  - every other package is carried into the Compiled Policy's `rules` for the pipeline's
 *    apply_compiled_policy step to evaluate per call (entrypoints: `deny`, `warn`, `allow`).
 */
import { inputError } from "../errors.ts";
import { parseModule } from "../rego/parser.ts";
import { RegoError } from "../rego/errors.ts";
import { compileModules } from "../rego/index.ts";
import type { Fragment, RuleSpec } from "./fragment.ts";
import { asFragment } from "./validate.ts";

export const ASPECTS_PACKAGE = "tappass.aspects";

export interface RegoFile {
  path: string;
  text: string;
}

export interface ParsedRego {
  path: string;
  text: string;
  pkg: string;
  ruleNames: string[];
}

/** Parse (syntax only) and classify; bad Rego → exit 3 at file:line:col. */
export function parseRego(f: RegoFile): ParsedRego {
  try {
    const m = parseModule(f.text, f.path);
    return { path: f.path, text: f.text, pkg: m.pkg.join("."), ruleNames: [...new Set(m.rules.map((r) => ruleName(r.head.ref)))] };
  } catch (e) {
    if (e instanceof RegoError) throw e.toTapPass();
    throw e;
  }
}

function ruleName(ref: Array<{ t: string; name?: string; v?: unknown }>): string {
  const h = ref[0];
  return h && h.t === "var" && h.name ? h.name : String(h?.v ?? "");
}

export const isAspects = (p: ParsedRego) => p.pkg === ASPECTS_PACKAGE || p.pkg.startsWith(`${ASPECTS_PACKAGE}.`);

/** Modules carried for per-call evaluation, with their entrypoints. */
export function carriedRule(p: ParsedRego): RuleSpec {
  const eps = ["deny", "warn", "allow"].filter((n) => p.ruleNames.includes(n)).map((n) => `data.${p.pkg}.${n}`);
  if (!eps.length) {
    throw inputError("rego_no_entrypoint", `package ${p.pkg} has no deny, warn or allow rule`, {
      where: `${p.path}:1:1`,
      hint: `per-call modules need \`deny contains msg if …\`; compile-time aspects go in package ${ASPECTS_PACKAGE}`,
    });
  }
  return { id: p.path.replace(/^.*\//, "").replace(/\.rego$/, ""), module: p.text, entrypoints: eps };
}

/** Compile every module of a level together (type, safety and recursion checks). */
export function checkRego(files: ParsedRego[]): void {
  if (files.length) compileModules(files.map((f) => ({ filename: f.path, source: f.text })));
}

const SET_RULES: Record<string, [string, string]> = {
  tools_allow: ["tools", "allow"],
  tools_grant: ["tools", "grant"],
  tools_deny: ["tools", "deny"],
  denied_capabilities: ["tools", "denied_capabilities"],
  dangerous_commands: ["tools", "dangerous_commands"],
  forbidden_zones: ["tools", "forbidden_zones"],
  network_allow_domains: ["network", "allow_domains"],
  network_deny_domains: ["network", "deny_domains"],
  network_deny_categories: ["network", "deny_categories"],
  filesystem_read_only: ["filesystem", "read_only"],
  filesystem_read_write: ["filesystem", "read_write"],
  filesystem_deny_paths: ["filesystem", "deny_paths"],
  interpreter_host_functions: ["interpreter", "host_functions"],
  models_allow: ["models", "allow"],
  models_deny: ["models", "deny"],
};
const SCALAR_RULES: Record<string, [string, string]> = {
  tools_default: ["tools", "default"],
  network_egress: ["network", "egress"],
  filesystem_workspace: ["filesystem", "workspace"],
  interpreter_memory_mb: ["interpreter", "memory_mb"],
  interpreter_cpu_time_ms: ["interpreter", "cpu_time_ms"],
  budget_tokens_per_day: ["budget", "tokens_per_day"],
  budget_dollars_per_month: ["budget", "dollars_per_month"],
  budget_requests_per_minute: ["budget", "requests_per_minute"],
  budget_tool_calls_per_minute: ["budget", "tool_calls_per_minute"],
  mode: ["pipeline", "mode"],
  preset: ["pipeline", "preset"],
};

/** The aspects rule that sets a fragment path (["tools", "deny", 0] → "tools_deny"), for error positions. */
export function aspectRuleOf(path: ReadonlyArray<string | number>): string | undefined {
  const [a, b] = path;
  if (a === "pipeline" && b === "steps") return "steps";
  if (a === "tools" && b === "constraints") return "tool_constraints";
  if (a === "concerns" || a === "compliance_tags") return a;
  for (const [name, [x, y]] of [...Object.entries(SET_RULES), ...Object.entries(SCALAR_RULES)]) if (x === a && y === b) return name;
  return undefined;
}

/** Evaluate a level's aspects modules for one agent context → a Fragment. */
export function evalAspects(files: ParsedRego[], input: Record<string, unknown>, allModules: ParsedRego[] = files): Fragment {
  if (!files.length) return {};
  const compiled = compileModules(allModules.map((f) => ({ filename: f.path, source: f.text })));
  const rows = compiled.prepare(`data.${ASPECTS_PACKAGE}`).eval(input, { maxSteps: 1_000_000, timeoutMs: 2000 });
  const out = (rows[0]?.[`data.${ASPECTS_PACKAGE}`] ?? {}) as Record<string, unknown>;
  const frag: Record<string, Record<string, unknown>> = {};
  const put = (a: string, k: string, v: unknown) => {
    frag[a] ??= {};
    (frag[a] as Record<string, unknown>)[k] = v;
  };
  for (const [name, v] of Object.entries(out)) {
    const set = SET_RULES[name];
    const scalar = SCALAR_RULES[name];
    if (set) put(set[0], set[1], Array.isArray(v) ? v : [v]);
    else if (scalar) put(scalar[0], scalar[1], v);
    else if (name === "steps") put("pipeline", "steps", v);
    else if (name === "tool_constraints") put("tools", "constraints", Array.isArray(v) ? v : [v]);
    else if (name === "compliance_tags" || name === "concerns") (frag as Record<string, unknown>)[name] = Array.isArray(v) ? v : [v];
    // any other rule is a helper and is ignored
  }
  return asFragment(frag, files.map((f) => f.path).join(", "));
}
