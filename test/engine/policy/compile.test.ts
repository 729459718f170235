import { afterEach, beforeEach, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { canonicalJson } from "../../../src/engine/canonical.ts";
import { loadKeys } from "../../../src/engine/crypto/keys.ts";
import { signatureString, utf8 } from "../../../src/engine/crypto/ed25519.ts";
import { initInstall } from "../../../src/engine/install.ts";
import { applyPolicy } from "../../../src/engine/policy/apply.ts";
import { catalog, STEP_NAMES } from "../../../src/engine/policy/catalog.ts";
import { compileForAgent, ensureDefaultAgent, explainAgent, verifyEnvelope } from "../../../src/engine/policy/index.ts";
import { createAgent, createProject } from "../../../src/engine/policy/registry.ts";
import { validatePayload } from "../../../src/engine/policy/schema.ts";
import { compileModules } from "../../../src/engine/rego/index.ts";
import type { Db } from "../../../src/engine/store/db.ts";
import { openState } from "../../../src/engine/store/state.ts";
import { tempHome } from "../../helpers/home.ts";

setDefaultTimeout(60_000);

let t: { home: string; cleanup: () => void };
let db: Db;
beforeEach(async () => {
  t = tempHome();
  await initInstall({ home: t.home, org: "acme" });
  db = openState(t.home);
});
afterEach(() => t.cleanup());

const file = (name: string, text: string) => {
  const p = join(t.home, name);
  writeFileSync(p, text);
  return p;
};

test("compileForAgent: schema-valid, signed, verifiable; unknown agent is exit 3", () => {
  createProject(db, "p");
  createAgent(db, { name: "mailer", project: "p", function: "customer_support_emailer", categories: ["customer_pii"] });
  const env = compileForAgent(db, "mailer", { sandbox_id: "sb-1", ttlSeconds: 60 });
  expect(validatePayload(env.payload)).toEqual({ ok: true });
  expect(env.payload).toMatchObject({ agent: "mailer", project: "p", org: "acme", sandbox_id: "sb-1" });
  expect(Date.parse(env.payload.expires_at) - Date.parse(env.payload.issued_at)).toBe(60_000);
  const keys = [loadKeys(t.home).ed25519];
  const v = verifyEnvelope(env, keys);
  expect(v.ok).toBe(true);
  // expiry, wrong key, schema
  expect(verifyEnvelope(env, keys, { now: Date.now() + 61_000 })).toMatchObject({ ok: false, reason: expect.stringContaining("expired") });
  expect(verifyEnvelope(env, [{ kid: "other", public: keys[0]?.public as Uint8Array }])).toMatchObject({ ok: false });
  expect(verifyEnvelope({ payload: { ...env.payload, tools: undefined }, signature: env.signature }, keys)).toMatchObject({ ok: false });
  // a payload re-signed after a schema-breaking edit still fails on the schema
  const broken = { ...env.payload, pipeline: { ...env.payload.pipeline, mode: "yolo" } };
  const k = loadKeys(t.home).ed25519;
  expect(verifyEnvelope({ payload: broken, signature: signatureString(k.kid, utf8(canonicalJson(broken)), k.secret) }, keys).ok).toBe(false);
  expect(() => compileForAgent(db, "ghost")).toThrow(expect.objectContaining({ code: "unknown_agent", exitCode: 3 }));
});

test("flipping any one byte of a compiled envelope (as `policy compile` writes it) fails verification", () => {
  createProject(db, "p");
  createAgent(db, { name: "a", project: "p", function: "refund_processor" });
  const env = compileForAgent(db, "a");
  const text = `${JSON.stringify(env)}\n`;
  const keys = [loadKeys(t.home).ed25519];
  expect(verifyEnvelope(JSON.parse(text), keys).ok).toBe(true);
  const bytes = Buffer.from(text);
  let checked = 0;
  for (let i = 0; i < bytes.length - 1; i += 7) {
    const b = Buffer.from(bytes);
    b[i] = (b[i] as number) ^ 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(b.toString("utf8"));
    } catch {
      checked++;
      continue;
    }
    const r = verifyEnvelope(parsed, keys);
    if (r.ok) throw new Error(`byte ${i} (${text.slice(Math.max(0, i - 20), i + 20)}) flipped and still verified`);
    checked++;
  }
  expect(checked).toBeGreaterThan(1000);
});

test("every function × category × pack combination compiles to a schema-valid policy with every step named", () => {
  const cat = catalog();
  createProject(db, "all");
  applyPolicy(db, { level: "project=all", packs: Object.keys(cat.packs) });
  let n = 0;
  for (const fn of [null, ...Object.keys(cat.functions)]) {
    const name = `a${n++}`;
    createAgent(db, { name, project: "all", function: fn, categories: Object.keys(cat.categories) });
    const env = compileForAgent(db, name);
    const r = validatePayload(env.payload);
    expect(r).toEqual({ ok: true });
    expect(env.payload.pipeline.steps.map((s) => s.name).sort()).toEqual([...STEP_NAMES].sort());
    // forbidden capabilities: no allowed tool exercises one
    const forbidden = new Set(env.payload.identity.forbidden_capabilities);
    for (const tool of env.payload.tools.allow) {
      for (const c of env.payload.tools.catalog[tool]?.capabilities ?? []) expect(forbidden.has(c)).toBe(false);
    }
    expect(env.payload.pipeline.preset).toBe("standard");
    expect(env.payload.compliance_tags).toEqual(expect.arrayContaining(["gdpr", "hipaa", "pci-dss", "nis2", "dora", "eu-ai-act", "owasp-llm"]));
  }
});

test("pack Rego rules compile with the Rego engine and decide per call", () => {
  const cat = catalog();
  for (const pack of Object.values(cat.packs)) {
    for (const r of pack.rules) {
      const compiled = compileModules([{ filename: `${pack.id}/${r.id}.rego`, source: r.module }]);
      for (const ep of r.entrypoints ?? []) expect(Array.isArray(compiled.prepare(ep).eval({ tool: { name: "echo", arguments: { message: "hi" } } }))).toBe(true);
    }
  }
  const gdpr = cat.packs.gdpr?.rules[0];
  const q = compileModules([{ filename: "gdpr.rego", source: gdpr?.module ?? "" }]).prepare("data.tappass.packs.gdpr.deny");
  const hit = q.eval({ tool: { name: "run_sql", arguments: { query: "SELECT * FROM customers" } } });
  expect(JSON.stringify(hit)).toContain("GDPR");
  const miss = q.eval({ tool: { name: "run_sql", arguments: { query: "SELECT id FROM orders" } } });
  expect(JSON.stringify(miss)).not.toContain("GDPR");
});

test("cascade: strictest wins (actions, ceilings, allow-lists intersect, deny-lists union) with because-trails", () => {
  createProject(db, "p");
  createAgent(db, { name: "dev", project: "p", function: "coding_assistant" });
  applyPolicy(db, {
    level: "org",
    files: [file("org.yaml", "budget: { tokens_per_day: 100000 }\nnetwork: { egress: allowlist, allow_domains: [api.github.com, pypi.org, registry.npmjs.org] }\ntools: { deny: [Task] }\n")],
  });
  applyPolicy(db, {
    level: "project=p",
    files: [file("proj.yaml", "budget: { tokens_per_day: 50000 }\nnetwork: { allow_domains: [pypi.org, registry.npmjs.org] }\ntools: { deny: [WebSearch], allow: [Read, Grep, Glob, Bash, Edit] }\npipeline: { steps: { detect_pii: { action: block } } }\n")],
  });
  applyPolicy(db, { level: "agent=dev", files: [file("agent.yaml", "network: { allow_domains: [pypi.org] }\ntools: { allow: [Read, Grep, Bash] }\nbudget: { tokens_per_day: 30000 }\n")] });
  const p = compileForAgent(db, "dev").payload;
  expect(p.budget.tokens_per_day).toBe(30_000);
  expect(p.network.allow_domains).toEqual(["pypi.org"]);
  expect(p.tools.allow).toEqual(["Bash", "Grep", "Read"]);
  expect(p.tools.deny).toEqual(expect.arrayContaining(["Task", "WebSearch"]));
  expect(p.pipeline.steps.find((s) => s.name === "detect_pii")?.action).toBe("block");
  const rows = explainAgent(db, "dev").rules;
  const row = (a: string, v?: unknown) => rows.find((r) => r.aspect === a && (v === undefined || r.value === v));
  expect(row("budget.tokens_per_day")?.because).toEqual([expect.objectContaining({ level: "agent", source: `file:${join(t.home, "agent.yaml")}` })]);
  expect(row("network.allow_domains", "pypi.org")?.because.map((b) => b.level)).toEqual(["org", "project", "agent"]);
  expect(row("tools.deny", "Task")?.because[0]).toMatchObject({ level: "org" });
});

test("the org may change built-in defaults; lower levels may not relax them", () => {
  createProject(db, "p");
  createAgent(db, { name: "dev", project: "p" });
  applyPolicy(db, { level: "org", files: [file("relaxed.yaml", "preset: starter\npipeline: { steps: { redact_pii_in_prompt: { enabled: false } } }\nbudget: { tokens_per_day: null }\n")] });
  const p = compileForAgent(db, "dev").payload;
  expect(p.pipeline).toMatchObject({ preset: "starter", mode: "warn" });
  expect(p.budget.tokens_per_day).toBeNull();
  // a project can raise the preset (tighten) but not lower the mode below the org's
  applyPolicy(db, { level: "project=p", files: [file("tight.yaml", "preset: regulated\n")] });
  expect(compileForAgent(db, "dev").payload.pipeline.preset).toBe("regulated");
  const lower = file("lower.yaml", "pipeline: { mode: observe }\n");
  expect(() => applyPolicy(db, { level: "project=p", files: [lower] })).toThrow(expect.objectContaining({ code: "floor_violation", exitCode: 1 }));
  const budget = file("budget.yaml", "budget: { requests_per_minute: 100000 }\n");
  expect(() => applyPolicy(db, { level: "agent=dev", files: [budget] })).toThrow(expect.objectContaining({ code: "floor_violation" }));
  const egress = file("open.yaml", "network: { egress: open }\n");
  expect(() => applyPolicy(db, { level: "agent=dev", files: [egress] })).toThrow(expect.objectContaining({ code: "floor_violation" }));
  const ssh = file("ssh.yaml", "filesystem: { read_write: ['~/.ssh/keys'] }\n");
  expect(() => applyPolicy(db, { level: "agent=dev", files: [ssh] })).toThrow(expect.objectContaining({ code: "floor_violation" }));
});

test("tools.yaml: add a tool, extend one with +cap/-cap, per-agent tightening; -cap cannot dodge a denied capability", () => {
  createProject(db, "support");
  createAgent(db, { name: "mailer", project: "support", function: "customer_support_emailer" });
  createAgent(db, { name: "other", project: "support", function: "customer_support_emailer" });
  applyPolicy(db, { level: "org", files: ["policies/tools.yaml"] });
  const p = compileForAgent(db, "mailer").payload;
  expect(p.tools.catalog.crm_lookup).toMatchObject({ capabilities: ["sor_read"], server: "crm" });
  expect(p.tools.catalog.send_internal_email?.capabilities).toEqual(["internal_messaging"]);
  expect(p.tools.catalog.send_internal_email?.slots).toEqual({ destination_param: "to", content_param: "body" });
  expect(p.tools.allow).toEqual(expect.arrayContaining(["crm_lookup", "send_internal_email"]));
  expect(p.tools.schemas_acl.send_email).toEqual({ deny_fields: ["bcc"] });
  expect(p.tools.constraints).toContainEqual(expect.objectContaining({ tool: "send_email", param: "cc", op: "max", value: 5 }));
  expect(compileForAgent(db, "other").payload.tools.schemas_acl.send_email).toBeUndefined();
  // a project cannot strip credential_access (denied by the baseline) from a tool to use it
  const dodge = file("dodge.yaml", "catalog:\n  get_secret:\n    extends: get_secret\n    capabilities: [-credential_access]\n");
  expect(() => applyPolicy(db, { level: "project=support", files: [dodge] })).toThrow(expect.objectContaining({ exitCode: 1 }));
});

test("Rego aspects: a clear convention evaluated with the agent's context; per-call packages are carried as rules", () => {
  createProject(db, "p");
  createAgent(db, { name: "eng", project: "p", function: "data_engineer_agent" });
  createAgent(db, { name: "kb", project: "p", function: "internal_kb_assistant", categories: ["employee_pii"] });
  applyPolicy(db, { level: "org", files: ["policies/baseline.rego"] });
  applyPolicy(db, { level: "project=p", files: ["policies/strict-project.rego"] });
  const eng = compileForAgent(db, "eng").payload;
  const kb = compileForAgent(db, "kb").payload;
  expect(eng.tools.deny).not.toContain("run_sql");
  expect(kb.tools.deny).toEqual(expect.arrayContaining(["run_sql", "WebSearch", "WebFetch"]));
  expect(eng.tools.deny).not.toContain("WebSearch");
  expect(kb.pipeline.steps.find((s) => s.name === "detect_pii")?.action).toBe("notify");
  expect(eng.budget.tokens_per_day).toBe(2_000_000);
  expect(eng.tools.dangerous_commands).toContain("git push --force*");
  const rule = eng.rules.find((r) => r.id === "strict-project");
  expect(rule).toMatchObject({ level: "project", source: "file:policies/strict-project.rego", entrypoints: ["data.tappass.tool.deny"] });
  const q = compileModules([{ filename: "s.rego", source: rule?.module ?? "" }]).prepare("data.tappass.tool.deny");
  expect(JSON.stringify(q.eval({ tool: { name: "send_email", arguments: { to: "x@evil.example" } } }))).toContain("external recipients");
  expect(JSON.stringify(q.eval({ tool: { name: "send_email", arguments: { to: "bob@acme.example" } } }))).not.toContain("external");
  // a Rego aspects rule that relaxes a floor is refused like YAML
  const relax = file("relax.rego", 'package tappass.aspects\n\nimport rego.v1\n\ntools_allow contains "WebFetch" if input.agent.name == "kb"\n');
  expect(() => applyPolicy(db, { level: "agent=kb", files: [relax] })).toThrow(expect.objectContaining({ code: "floor_violation" }));
});

test("ensureDefaultAgent is idempotent and governed by the baseline; apply --dry-run stores nothing", () => {
  expect(ensureDefaultAgent(db)).toBe("local");
  expect(ensureDefaultAgent(db)).toBe("local");
  expect(ensureDefaultAgent(db, "mine")).toBe("mine");
  const p = compileForAgent(db, "local").payload;
  expect(p).toMatchObject({ project: "default", tools: { default: "deny" }, pipeline: { preset: "standard", mode: "enforce" } });
  const r = applyPolicy(db, { level: "project=default", packs: ["hipaa"], dryRun: true });
  expect(r).toMatchObject({ changed: true, version: 1, dry_run: true });
  expect(compileForAgent(db, "local").payload.compliance_tags).not.toContain("hipaa");
  expect(applyPolicy(db, { level: "project=default", packs: ["hipaa"] })).toMatchObject({ changed: true, version: 1 });
  expect(compileForAgent(db, "local").payload.compliance_tags).toContain("hipaa");
});

test("previewForAgent: extra packs and files, signed, not stored, no new version; listPacks/getPack", async () => {
  const { previewForAgent, listPacks, getPack } = await import("../../../src/engine/policy/index.ts");
  createProject(db, "p");
  createAgent(db, { name: "a", project: "p" });
  const v = compileForAgent(db, "a").payload.policy_version;
  const env = previewForAgent(db, "a", { packs: ["pci-dss"], files: [{ path: "what-if.yaml", kind: "yaml", text: "budget: { tokens_per_day: 10 }\n" }] });
  expect(verifyEnvelope(env, [loadKeys(t.home).ed25519]).ok).toBe(true);
  expect(env.payload.policy_version).toBe(v);
  expect(env.payload.compliance_tags).toContain("pci-dss");
  expect(env.payload.budget.tokens_per_day).toBe(10);
  expect(compileForAgent(db, "a").payload).toMatchObject({ policy_version: v, budget: { tokens_per_day: 5_000_000 } });
  expect(listPacks().map((p) => p.id)).toContain("nis2-dora");
  expect(getPack("owasp-llm").probes).toContain("prompt_injection");
  expect(() => getPack("nope")).toThrow(expect.objectContaining({ exitCode: 3 }));
});

test("an org file changes built-in defaults but not what the org's own packs tighten", () => {
  createProject(db, "p");
  createAgent(db, { name: "a", project: "p" });
  applyPolicy(db, { level: "org", packs: ["nis2-dora"], files: [file("org.yaml", "budget: { requests_per_minute: null, tokens_per_day: null }\n")] });
  const p = compileForAgent(db, "a").payload;
  expect(p.budget.tokens_per_day).toBeNull();
  expect(p.budget.requests_per_minute).toBe(300); // nis2-dora
});

test("a tool added in the same file with a forbidden or denied capability cannot be granted", () => {
  createProject(db, "p");
  createAgent(db, { name: "m", project: "p", function: "customer_support_emailer" });
  const pay = file("pay.yaml", "catalog:\n  my_pay: { capabilities: [payments] }\ntools:\n  grant: [my_pay]\n");
  expect(() => applyPolicy(db, { level: "project=p", files: [pay] })).toThrow(expect.objectContaining({ code: "forbidden_capability" }));
  createProject(db, "q");
  createAgent(db, { name: "n", project: "q" });
  const secret = file("secret.yaml", "catalog:\n  vault_read: { capabilities: [credential_access] }\ntools:\n  grant: [vault_read]\n");
  expect(() => applyPolicy(db, { level: "project=q", files: [secret] })).toThrow(expect.objectContaining({ code: "floor_violation" }));
});

test("redefining a tool a level above (or the shipped catalog) defines cannot drop its capabilities, in any form", () => {
  createProject(db, "p");
  createAgent(db, { name: "rev", project: "p", function: "code_reviewer" }); // forbids code_execution
  createAgent(db, { name: "free", project: "p" });
  const forms = [
    "catalog:\n  Bash: { capabilities: [filesystem_read] }\ntools:\n  grant: [Bash]\n", // a plain list replaces them
    "catalog:\n  Bash: { extends: Read }\n", // another tool's capabilities
    "catalog:\n  Bash: { capabilities: [-code_execution] }\n",
  ];
  for (const [i, text] of forms.entries()) {
    for (const level of ["org", "agent=rev"]) {
      expect(() => applyPolicy(db, { level, files: [file(`f${i}.yaml`, text)] })).toThrow(expect.objectContaining({ code: "forbidden_capability", exitCode: 1 }));
    }
    // at project level whichever agent is checked first refuses it (rev: forbidden, free: floor)
    expect(() => applyPolicy(db, { level: "project=p", files: [file(`f${i}.yaml`, text)] })).toThrow(expect.objectContaining({ exitCode: 1 }));
    // no forbidding function: still a relaxation of the shipped catalog below org
    expect(() => applyPolicy(db, { level: "agent=free", files: [file(`f${i}.yaml`, text)] })).toThrow(expect.objectContaining({ code: "floor_violation" }));
  }
  expect(compileForAgent(db, "rev").payload.tools.allow).not.toContain("Bash");

  // adding a capability tightens; a new tool is its author's to declare
  applyPolicy(db, { level: "agent=free", files: [file("more.yaml", "catalog:\n  Bash: { capabilities: [+network_egress] }\n  my_lint: { capabilities: [filesystem_read] }\n")] });
  expect(compileForAgent(db, "free").payload.tools.catalog.Bash?.capabilities).toContain("network_egress");
});

test("a lower level's Rego module cannot add rules to a package a higher level's module uses", () => {
  createProject(db, "p");
  createAgent(db, { name: "a", project: "p" });
  const proj = file("reads.rego", 'package acme.reads\n\nallowed contains "/srv/data/"\n\ndeny contains "outside /srv/data" if {\n  input.tool.name == "Read"\n  not some_prefix(input.tool.arguments.file_path)\n}\n\nsome_prefix(p) if {\n  some pre in allowed\n  startswith(p, pre)\n}\n');
  applyPolicy(db, { level: "project=p", files: [proj] });
  for (const pkg of ["acme.reads", "acme", "acme.reads.more"]) {
    const widen = file("widen.rego", `package ${pkg}\n\nallowed contains "/"\n\ndeny contains "never" if false\n`);
    expect(() => applyPolicy(db, { level: "agent=a", files: [widen] })).toThrow(expect.objectContaining({ code: "rule_package_taken", exitCode: 1 }));
  }
  // a package of its own is the agent's to add (and the project's rule still holds)
  applyPolicy(db, { level: "agent=a", files: [file("own.rego", 'package acme.reads_a\n\ndeny contains "no Write" if input.tool.name == "Write"\n')] });
  const rules = compileForAgent(db, "a").payload.rules;
  expect(rules.flatMap((r) => r.entrypoints).sort()).toEqual(["data.acme.reads.deny", "data.acme.reads_a.deny"]);
});

test("a Rego aspects module naming a tool, step, concern or capability that does not exist is bad input, as in YAML", () => {
  createProject(db, "p");
  createAgent(db, { name: "a", project: "p" });
  const cases: Array<[string, string]> = [
    ['tools_deny contains "NoSuchTool"', "unknown_tool"],
    ['steps["detect_nothing"] := {"action": "block"}', "unknown_step"],
    ['concerns contains "nosuch"', "unknown_concern"],
    ['denied_capabilities contains "nosuchcap"', "unknown_capability"],
  ];
  for (const [rule, code] of cases) {
    const f = file("typo.rego", `package tappass.aspects\n\n# one aspect\n${rule}\n`);
    expect(() => applyPolicy(db, { level: "project=p", files: [f] })).toThrow(expect.objectContaining({ code, exitCode: 3, where: `${f}:4:1` }));
  }
  applyPolicy(db, { level: "project=p", files: [file("ok.rego", 'package tappass.aspects\n\ntools_deny contains "Bash"\n')] });
  expect(compileForAgent(db, "a").payload.tools.deny).toContain("Bash");
});

test("a per-call rule whose entrypoint its module does not define is bad input (it would never fire)", () => {
  const mod = 'package acme\ndeny contains "no Write" if input.tool.name == "Write"\n';
  const yaml = (ep: string) => `rules:\n  - id: my-rule\n    entrypoints: [${ep}]\n    module: ${JSON.stringify(mod)}\n`;
  const bad = file("typo.yaml", yaml("data.acme.nothere"));
  expect(() => applyPolicy(db, { level: "org", files: [bad] })).toThrow(expect.objectContaining({ code: "rego_unknown_entrypoint", exitCode: 3, where: `${bad}:3:19` }));
  applyPolicy(db, { level: "org", files: [file("ok.yaml", yaml("data.acme.deny"))] });
});

test("a higher level cannot be applied under a lower level's stored source it would make relax it (named, store unchanged)", () => {
  createProject(db, "p");
  createAgent(db, { name: "a", project: "p" });
  applyPolicy(db, { level: "agent=a", files: [file("allow.yaml", "tools:\n  allow: [WebFetch]\n")] });
  const org = file("org.yaml", "tools:\n  deny: [WebFetch]\n");
  expect(() => applyPolicy(db, { level: "org", files: [org] })).toThrow(
    expect.objectContaining({ code: "floor_violation", exitCode: 1, message: expect.stringContaining("agent=a's file:"), details: expect.objectContaining({ conflicting_level: "agent=a" }) }),
  );
  expect(() => applyPolicy(db, { level: "project=p", files: [org] })).toThrow(expect.objectContaining({ code: "floor_violation" }));
  // the agent's later applies are unaffected; once its source goes, the org's floor applies
  applyPolicy(db, { level: "agent=a", files: [file("b.yaml", "budget:\n  tokens_per_day: 1000\n")] });
  applyPolicy(db, { level: "agent=a", replace: true, files: [file("b.yaml", "budget:\n  tokens_per_day: 1000\n")] });
  applyPolicy(db, { level: "org", files: [org] });
  expect(compileForAgent(db, "a").payload.tools.deny).toContain("WebFetch");
});

test("an org catalog entry applied before an agent whose function forbids what it drops: that agent's policy does not compile", () => {
  createProject(db, "q");
  applyPolicy(db, { level: "org", files: [file("early.yaml", "catalog:\n  Bash: { capabilities: [filesystem_read] }\n")] });
  createAgent(db, { name: "late", project: "q", function: "code_reviewer" });
  expect(() => compileForAgent(db, "late")).toThrow(expect.objectContaining({ code: "forbidden_capability", exitCode: 1 }));
});

test("a lower level cannot loosen a step through its config (what it scans, its detectors, its window), only tighten it", () => {
  createProject(db, "p");
  createAgent(db, { name: "a", project: "p" });
  const refused = [
    "detect_secrets: { config: { kinds: [nothing_here] } }",
    "detect_secrets: { config: { detectors: [detect_pii] } }",
    "detect_secrets: { config: { threshold: 0.99 } }",
    "loop_guard: { config: { window_s: 1 } }",
    "loop_guard: { config: { max_repeats: 50 } }",
    "forbidden_zones: { config: { include_defaults: false } }",
    "forbidden_zones: { config: { cwd: / } }",
  ];
  for (const step of refused) {
    expect(() => applyPolicy(db, { level: "project=p", files: [file("loose.yaml", `pipeline:\n  steps:\n    ${step}\n`)] })).toThrow(expect.objectContaining({ code: "floor_violation", exitCode: 1 }));
  }
  applyPolicy(db, { level: "project=p", files: [file("tight.yaml", "pipeline:\n  steps:\n    loop_guard: { config: { max_repeats: 3 } }\n    detect_secrets: { config: { threshold: 0.4 } }\n    forbidden_zones: { config: { zones: [/srv/private/**] } }\n")] });
  const steps = compileForAgent(db, "a").payload.pipeline.steps;
  expect(steps.find((x) => x.name === "loop_guard")?.config).toMatchObject({ max_repeats: 3 });
  expect(steps.find((x) => x.name === "detect_secrets")?.config).toMatchObject({ threshold: 0.4 });
});

test("under default deny, a lower level's glob grant must name what it opens (a prefix, an MCP server)", () => {
  createProject(db, "p");
  createAgent(db, { name: "a", project: "p" });
  for (const glob of ['"*a"', '"?x*"', '"m*"', '"mcp__*"', '"*"']) {
    expect(() => applyPolicy(db, { level: "project=p", files: [file("g.yaml", `tools:\n  grant: [${glob}]\n`)] })).toThrow(expect.objectContaining({ code: "floor_violation", exitCode: 1 }));
  }
  applyPolicy(db, { level: "project=p", files: [file("ok.yaml", 'tools:\n  grant: ["mcp__github__*", "test_*"]\n')] });
});

test("policies/README.md documents every shipped function, category, concern, capability and pack", async () => {
  const readme = await Bun.file(join(import.meta.dir, "..", "..", "..", "policies", "README.md")).text();
  const cat = catalog();
  for (const names of [cat.functions, cat.categories, cat.concerns, cat.capabilities, cat.packs].map((o) => Object.keys(o))) {
    for (const n of names) expect(readme).toContain(n);
  }
  for (const s of STEP_NAMES) expect(readme).toContain(s);
});
