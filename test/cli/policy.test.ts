import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { root, tappass } from "../helpers/cli.ts";
import { tempHome } from "../helpers/home.ts";

setDefaultTimeout(120_000);

let cleanup = () => {};
afterEach(() => cleanup());

function setup() {
  const t = tempHome();
  cleanup = t.cleanup;
  const run = (args: string[]) => tappass(args, { home: t.home });
  return { home: t.home, run };
}

/** The issue's done-when session, end to end, then the same checks an operator would make. */
test("done-when session: init, project, agent, org baseline.rego, project packs, compile, verify, explain", async () => {
  const { home, run } = setup();
  expect(run(["init"]).code).toBe(0);
  expect(run(["project", "create", "eu-support"]).code).toBe(0);
  const agent = run(["agent", "create", "mailer", "--project", "eu-support", "--function", "customer_support_emailer", "--category", "customer_pii", "--json"]);
  expect(agent.code).toBe(0);
  expect(agent.json).toMatchObject({ name: "mailer", project: "eu-support", function: "customer_support_emailer", categories: ["customer_pii"], created: true });

  const org = run(["policy", "apply", "--level", "org", "policies/baseline.rego", "--json"]);
  expect(org.code).toBe(0);
  expect(org.json).toMatchObject({ level: "org", changed: true });
  expect(typeof org.json.version).toBe("number");
  const proj = run(["policy", "apply", "--level", "project=eu-support", "--pack", "eu-ai-act", "--pack", "gdpr", "--json"]);
  expect(proj.code).toBe(0);
  expect(proj.json).toEqual(expect.objectContaining({ level: "project=eu-support", version: 1, changed: true }));
  // applying the same thing again changes nothing
  const again = run(["policy", "apply", "--level", "project=eu-support", "--pack", "gdpr", "--json"]);
  expect(again.json).toMatchObject({ version: 1, changed: false });

  const compiled = run(["policy", "compile", "--agent", "mailer", "--json"]);
  expect(compiled.code).toBe(0);
  const env = compiled.json;
  expect(env.signature).toMatch(/^ed25519:[0-9a-f]{16}:[A-Za-z0-9+/=]+$/);
  const p = env.payload;
  for (const k of ["policy_version", "sandbox_id", "agent", "project", "org", "issued_at", "expires_at", "identity", "network", "filesystem", "tools", "interpreter", "budget", "compliance_tags", "pipeline", "rules"]) {
    expect(p).toHaveProperty(k);
  }
  expect(p).toMatchObject({ agent: "mailer", project: "eu-support", org: "default", sandbox_id: null });
  expect(p.identity).toMatchObject({ function: "customer_support_emailer", categories: ["customer_pii"] });
  expect(p.compliance_tags).toEqual(expect.arrayContaining(["gdpr", "eu-ai-act", "owasp-llm", "org-baseline"]));
  // org baseline.rego: WebFetch denied for everyone, WebSearch for agents with personal data
  expect(p.tools.deny).toEqual(expect.arrayContaining(["WebFetch", "WebSearch", "run_sql"]));
  expect(p.tools.allow).toContain("send_email");
  expect(p.tools.allow).not.toContain("Bash"); // the function forbids code_execution
  expect(p.tools.default).toBe("deny");
  expect(p.budget.tokens_per_day).toBe(2_000_000);
  const step = (n: string) => p.pipeline.steps.find((s: { name: string }) => s.name === n);
  expect(step("detect_secrets")).toMatchObject({ enabled: true, action: "block" });
  expect(step("detect_prompt_injection")).toMatchObject({ enabled: true, action: "block" });
  expect(step("redact_pii_in_prompt")).toMatchObject({ enabled: true, action: "redact" });
  expect(step("enforce_no_train_flag")).toMatchObject({ enabled: true, action: "block" }); // gdpr
  expect(step("detect_pii")).toMatchObject({ action: "notify" }); // baseline.rego for personal data
  expect(p.rules.map((r: { id: string }) => r.id)).toEqual(expect.arrayContaining(["gdpr-bulk-export", "eu-ai-act-disclosure"]));
  const { validatePayload } = await import("../../src/engine/policy/schema.ts");
  expect(validatePayload(p)).toEqual({ ok: true });

  const cp = join(home, "cp.json");
  writeFileSync(cp, compiled.stdout);
  const ok = run(["policy", "verify", cp]);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toContain("ok");
  // offline, with the published key
  const jwks = join(home, "jwks.json");
  writeFileSync(jwks, run(["keys", "export", "--jwks"]).stdout);
  expect(run(["policy", "verify", cp, "--pubkey", jwks, "--json"]).json).toMatchObject({ ok: true, agent: "mailer" });

  const explain = run(["policy", "explain", "--agent", "mailer", "--json"]);
  expect(explain.code).toBe(0);
  const rows = explain.json.rules as Array<{ aspect: string; value: unknown; because: Array<{ level: string; source: string; detail: string }> }>;
  for (const r of rows) {
    expect(typeof r.aspect).toBe("string");
    expect(Array.isArray(r.because)).toBe(true);
    // the forms CONTRACT.md gives (built-in entries are the org's, from the embedded catalog)
    for (const b of r.because) {
      expect(["org", "project", "agent"]).toContain(b.level);
      expect(b.source).toMatch(/^(pack|file|function|category):./);
    }
  }
  const why = (aspect: string, value: unknown) => rows.find((r) => r.aspect === aspect && JSON.stringify(r.value) === JSON.stringify(value))?.because ?? [];
  expect(why("tools.deny", "WebFetch")).toContainEqual(expect.objectContaining({ level: "org", source: "file:policies/baseline.rego" }));
  expect(why("tools.deny", "Bash")).toContainEqual(expect.objectContaining({ level: "agent", source: "function:customer_support_emailer" }));
  expect(why("compliance_tags", "gdpr")).toContainEqual(expect.objectContaining({ level: "project", source: "pack:gdpr" }));
  expect(why("identity.categories", "customer_pii")).toContainEqual(expect.objectContaining({ source: "category:customer_pii" }));
  expect(rows.find((r) => r.aspect === "pipeline.steps.enforce_no_train_flag")?.because).toContainEqual(expect.objectContaining({ source: "pack:gdpr" }));
  const human = run(["policy", "explain", "--agent", "mailer"]);
  expect(human.stdout).toContain("because");
});

test("an agent-level file that re-enables a tool the org floor denies is refused: exit 1, names rule and floor; store unchanged", () => {
  const { home, run } = setup();
  run(["init"]);
  run(["project", "create", "eu-support"]);
  run(["agent", "create", "mailer", "--project", "eu-support", "--function", "customer_support_emailer", "--category", "customer_pii"]);
  expect(run(["policy", "apply", "--level", "org", "policies/baseline.rego"]).code).toBe(0);
  const before = run(["policy", "compile", "--agent", "mailer", "--json"]).json.payload;
  const f = join(home, "reenable.yaml");
  writeFileSync(f, "tools:\n  allow: [WebFetch]\n");
  const r = run(["policy", "apply", "--level", "agent=mailer", f, "--json"]);
  expect(r.code).toBe(1);
  expect(r.json.error.code).toBe("floor_violation");
  expect(r.json.error.message).toContain("tools.allow WebFetch");
  expect(r.json.error.message).toContain("tools.deny WebFetch");
  expect(r.json.error.message).toContain("org (file:policies/baseline.rego)");
  expect(r.json.error.floor).toMatchObject({ level: "org", source: "file:policies/baseline.rego" });
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  // a project file may not disable a step the baseline enables, nor weaken its action
  const weak = join(home, "weak.yaml");
  writeFileSync(weak, "pipeline:\n  steps:\n    detect_prompt_injection: { action: log }\n");
  const w = run(["policy", "apply", "--level", "project=eu-support", weak]);
  expect(w.code).toBe(1);
  expect(w.stderr).toContain("pipeline.steps.detect_prompt_injection.action log");
  // nothing was stored: same version, same content
  const after = run(["policy", "compile", "--agent", "mailer", "--json"]).json.payload;
  expect(after.policy_version).toBe(before.policy_version);
  expect(run(["policy", "apply", "--level", "agent=mailer", "--json", "--dry-run"]).json).toMatchObject({ version: 0, changed: false });
});

test("granting a capability the function forbids is refused at every level (exit 1)", () => {
  const { home, run } = setup();
  run(["init"]);
  run(["project", "create", "support"]);
  run(["agent", "create", "mailer", "--project", "support", "--function", "customer_support_emailer"]);
  const f = join(home, "refunds.yaml");
  writeFileSync(f, "tools:\n  grant: [create_refund]\n");
  for (const level of ["agent=mailer", "project=support", "org"]) {
    const r = run(["policy", "apply", "--level", level, f, "--json"]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe("forbidden_capability");
    expect(r.json.error.message).toContain("payments");
  }
  const caps = join(home, "caps.yaml");
  writeFileSync(caps, "tools:\n  grant_capabilities: [code_execution]\n");
  expect(run(["policy", "apply", "--level", "agent=mailer", caps]).code).toBe(1);
});

test("one-byte change fails verify; policy_version only increases; diff shows what changed", () => {
  const { home, run } = setup();
  run(["init"]);
  run(["project", "create", "p"]);
  run(["agent", "create", "a1", "--project", "p", "--function", "coding_assistant"]);
  const first = run(["policy", "compile", "--agent", "a1", "--out", join(home, "cp.json"), "--json"]);
  expect(first.code).toBe(0);
  const text = readFileSync(join(home, "cp.json"), "utf8");
  expect(run(["policy", "verify", join(home, "cp.json")]).code).toBe(0);
  // flip one byte inside the payload: "deny" -> "denz"
  const i = text.indexOf('"default":"deny"') + '"default":"den'.length;
  const tampered = `${text.slice(0, i)}z${text.slice(i + 1)}`;
  expect(tampered.length).toBe(text.length);
  writeFileSync(join(home, "bad.json"), tampered);
  const bad = run(["policy", "verify", join(home, "bad.json")]);
  expect(bad.code).toBe(1);
  // a changed number keeps the schema valid: only the signature catches it
  const env = JSON.parse(text);
  env.payload.budget.requests_per_minute += 1;
  writeFileSync(join(home, "bad2.json"), JSON.stringify(env));
  const bad2 = run(["policy", "verify", join(home, "bad2.json"), "--json"]);
  expect(bad2.code).toBe(1);
  expect(bad2.json.reason).toContain("signature");
  // and a byte of the signature itself
  const sigAt = text.indexOf('"signature":"ed25519:') + '"signature":"ed25519:'.length + 20;
  const c = text[sigAt] === "A" ? "B" : "A";
  writeFileSync(join(home, "bad3.json"), `${text.slice(0, sigAt)}${c}${text.slice(sigAt + 1)}`);
  expect(run(["policy", "verify", join(home, "bad3.json")]).code).toBe(1);

  const v1 = first.json.policy_version as number;
  // recompiling unchanged policy keeps the version; a change bumps it
  expect(run(["policy", "compile", "--agent", "a1", "--json"]).json.payload.policy_version).toBe(v1);
  run(["policy", "apply", "--level", "project=p", "--pack", "owasp-llm"]);
  const v2 = run(["policy", "compile", "--agent", "a1", "--json"]).json.payload.policy_version;
  expect(v2).toBeGreaterThan(v1);
  run(["agent", "create", "a2", "--project", "p"]);
  const v3 = run(["policy", "compile", "--agent", "a2", "--json"]).json.payload.policy_version;
  expect(v3).toBeGreaterThan(v2);
  const diff = run(["policy", "diff", "--from", String(v1), "--to", String(v2), "--json"]);
  expect(diff.code).toBe(0);
  expect(diff.json.changes.some((c: { path: string }) => c.path.startsWith("rules"))).toBe(true);
  expect(run(["policy", "diff", "--from", "999", "--to", String(v1)]).code).toBe(3);
  expect(diff.json.agents).toBeUndefined();
  // versions are numbered across the install: two agents' versions are said to be two agents
  run(["agent", "create", "a2", "--project", "p"]);
  const other = run(["policy", "compile", "--agent", "a2", "--out", join(home, "cp2.json"), "--json"]).json.policy_version;
  const across = run(["policy", "diff", "--from", String(v2), "--to", String(other), "--json"]);
  expect(across.json.agents).toEqual(["a1", "a2"]);
  expect(across.stderr).toContain("this compares two agents");
});

test("bad input exits 3 with file:line:col and leaves the store unchanged", () => {
  const { home, run } = setup();
  run(["init"]);
  run(["project", "create", "p"]);
  run(["agent", "create", "a", "--project", "p"]);
  const ok = join(home, "ok.yaml");
  writeFileSync(ok, "budget:\n  tokens_per_day: 1000\n");
  const yaml = join(home, "bad.yaml");
  writeFileSync(yaml, "tools:\n  deny: [Bash\n  allow: [Read]\n");
  const r1 = run(["policy", "apply", "--level", "project=p", ok, yaml, "--json"]);
  expect(r1.code).toBe(3);
  expect(r1.json.error.where).toMatch(new RegExp(`${yaml.replace(/[.]/g, "\\.")}:\\d+:\\d+$`));
  const rego = join(home, "bad.rego");
  writeFileSync(rego, "package tappass.aspects\n\ntools_deny contains \"Bash\" if {\n  input.agent.name ==\n");
  const r2 = run(["policy", "apply", "--level", "project=p", rego, "--json"]);
  expect(r2.code).toBe(3);
  expect(r2.json.error.where).toMatch(/bad\.rego:\d+:\d+$/);
  // aliases that expand without bound are bad input too, not a crash
  const bomb = join(home, "bomb.yaml");
  writeFileSync(bomb, ["a: &a [x, x, x, x, x, x, x, x, x]", ..."bcde".split("").map((k, i) => `${k}: &${k} [${Array(9).fill(`*${"abcd"[i]}`).join(", ")}]`)].join("\n"));
  const rb = run(["policy", "apply", "--level", "project=p", bomb, "--json"]);
  expect(rb.code).toBe(3);
  expect(rb.json.error).toMatchObject({ code: "policy_parse_error", where: `${bomb}:1:1` });
  const unknown = join(home, "unknown.yaml");
  writeFileSync(unknown, "tools:\n  deny:\n    - Bash\n    - no_such_tool\n");
  const r3 = run(["policy", "apply", "--level", "project=p", unknown, "--json"]);
  expect(r3.code).toBe(3);
  expect(r3.json.error).toMatchObject({ code: "unknown_tool", where: `${unknown}:4:7` });
  const schema = join(home, "schema.yaml");
  writeFileSync(schema, "network:\n  egress: sometimes\n");
  const r4 = run(["policy", "apply", "--level", "project=p", schema, "--json"]);
  expect(r4.code).toBe(3);
  expect(r4.json.error.where).toBe(`${schema}:2:11`);
  const step = join(home, "step.yaml");
  writeFileSync(step, "pipeline:\n  steps:\n    detect_everything: { action: block }\n");
  expect(run(["policy", "apply", "--level", "project=p", step, "--json"]).json.error.code).toBe("unknown_step");
  expect(run(["policy", "apply", "--level", "project=p", "--pack", "sox", "--json"]).json.error.code).toBe("unknown_pack");
  expect(run(["agent", "create", "b", "--project", "p", "--function", "astronaut"]).code).toBe(3);
  expect(run(["agent", "create", "b", "--project", "p", "--category", "secrets_of_state"]).code).toBe(3);
  expect(run(["agent", "create", "b", "--project", "nope"]).code).toBe(3);
  expect(run(["policy", "compile", "--agent", "ghost", "--json"]).json.error.code).toBe("unknown_agent");
  expect(run(["policy", "apply", "--level", "galaxy", ok]).code).toBe(3);
  // none of it was stored: the good file in the first failed apply is not there
  const state = run(["policy", "apply", "--level", "project=p", "--dry-run", "--json"]);
  expect(state.json).toMatchObject({ version: 0, changed: false, sources: { packs: [], files: [] } });
  expect(run(["policy", "compile", "--agent", "a", "--json"]).json.payload.budget.tokens_per_day).toBe(5_000_000);
});

test("a fresh install is governed by the built-in baseline; pack list/show", () => {
  const { run } = setup();
  run(["init"]);
  run(["project", "create", "p"]);
  run(["agent", "create", "dev", "--project", "p"]);
  const p = run(["policy", "compile", "--agent", "dev", "--json"]).json.payload;
  expect(p.pipeline).toMatchObject({ mode: "enforce", preset: "standard" });
  expect(p.tools.default).toBe("deny");
  expect(p.tools.allow).toEqual(expect.arrayContaining(["Read", "Glob", "Grep", "Edit", "Write", "Bash"]));
  expect(p.tools.forbidden_zones).toEqual(expect.arrayContaining(["~/.ssh/**", "~/.aws/credentials", "/etc/shadow"]));
  expect(p.tools.dangerous_commands).toEqual(expect.arrayContaining(["rm -rf /", "curl * | sh"]));
  expect(p.filesystem.deny_paths).toContain("~/.ssh");
  expect(p.network).toMatchObject({ egress: "allowlist", allow_domains: [] });
  const on = (n: string) => p.pipeline.steps.find((s: { name: string }) => s.name === n);
  expect(on("detect_secrets")).toMatchObject({ enabled: true, action: "block" });
  expect(on("redact_pii_in_prompt")).toMatchObject({ enabled: true, action: "redact" });
  expect(on("detect_prompt_injection")).toMatchObject({ enabled: true, action: "block" });

  const list = run(["pack", "list", "--json"]);
  expect(list.json.packs.map((x: { id: string }) => x.id).sort()).toEqual(["eu-ai-act", "gdpr", "hipaa", "nis2-dora", "owasp-llm", "pci-dss"]);
  const show = run(["pack", "show", "gdpr", "--json"]);
  expect(show.json).toMatchObject({ id: "gdpr", concerns: expect.arrayContaining(["gdpr_required"]) });
  expect(show.json.detectors.length).toBeGreaterThan(0);
  expect(show.json.probes.length).toBeGreaterThan(0);
  expect(run(["pack", "show", "sox"]).code).toBe(3);
});

test("policy sources shows a level's stored sources; --replace drops the rest", () => {
  const { run } = setup();
  run(["init"]);
  run(["project", "create", "p"]);
  expect(run(["policy", "apply", "--level", "project=p", "--pack", "gdpr", "policies/strict-project.yaml", "--json"]).json).toMatchObject({ version: 1 });
  expect(run(["policy", "sources", "--level", "project=p", "--json"]).json).toMatchObject({
    version: 1,
    packs: ["gdpr"],
    files: [{ path: "policies/strict-project.yaml", kind: "yaml" }],
  });
  const shown = run(["policy", "sources", "--level", "project=p", "--text"]).stdout;
  expect(shown).toContain("--- policies/strict-project.yaml\n");
  expect(shown).toContain(readFileSync(join(root, "policies", "strict-project.yaml"), "utf8").trim());
  expect(run(["policy", "apply", "--level", "project=p", "--pack", "hipaa", "--replace", "--json"]).json).toMatchObject({ version: 2, changed: true });
  expect(run(["policy", "sources", "--level", "project=p", "--json"]).json).toMatchObject({ version: 2, packs: ["hipaa"], files: [] });
});

test("a source is known by its name as typed (./x.yaml is x.yaml); the same name from another directory replaces it with a warning", () => {
  const { home } = setup();
  const at = (cwd: string) => (args: string[]) => tappass(args, { home, cwd });
  const dir = (name: string) => {
    const d = join(home, name);
    mkdirSync(d, { recursive: true });
    return d;
  };
  const [a, b] = [dir("teamA"), dir("teamB")];
  writeFileSync(join(a, "policy.yaml"), "tools:\n  deny: [WebSearch]\n");
  writeFileSync(join(b, "policy.yaml"), "budget:\n  tokens_per_day: 1000\n");
  at(home)(["init"]);
  at(home)(["project", "create", "p"]);
  expect(at(a)(["policy", "apply", "--level", "project=p", "./policy.yaml", "policy.yaml", "--json"]).json).toMatchObject({ version: 1, sources: { files: ["policy.yaml"] } });
  expect(at(a)(["policy", "apply", "--level", "project=p", "policy.yaml", "--json"]).json).toMatchObject({ version: 1, changed: false });
  const other = at(b)(["policy", "apply", "--level", "project=p", "policy.yaml", "--json"]);
  expect(other.json).toMatchObject({ version: 2, sources: { files: ["policy.yaml"] }, warnings: [expect.stringContaining(`applied from ${join(a, "policy.yaml")}`)] });
  expect(other.stderr).toContain("warning: policy.yaml replaces the source of that name");
});

test("agent create refuses an agent whose function forbids what an org catalog entry already drops (store unchanged)", () => {
  const { home, run } = setup();
  run(["init"]);
  run(["project", "create", "p"]);
  writeFileSync(join(home, "org.yaml"), "catalog:\n  Bash: { capabilities: [filesystem_read] }\n");
  expect(run(["policy", "apply", "--level", "org", join(home, "org.yaml")]).code).toBe(0);
  const r = run(["agent", "create", "rev", "--project", "p", "--function", "code_reviewer", "--json"]);
  expect(r.code).toBe(1);
  expect(r.json.error.code).toBe("forbidden_capability");
  expect(run(["agent", "list", "--json"]).json).toEqual(expect.not.arrayContaining([expect.objectContaining({ name: "rev" })]));
  expect(run(["agent", "create", "dev", "--project", "p"]).code).toBe(0); // no such function: fine
});
