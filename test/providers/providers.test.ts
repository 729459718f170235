// Golden-file tests: each renderer's output for one fixed policy is pinned under golden/.
// After an intended change: UPDATE_GOLDEN=1 bun test test/providers, then review the diff.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse as parseYaml } from "yaml";
import type { CompiledPolicyPayload } from "../../src/engine/policy/types.ts";
import { providers, type RenderCapabilities } from "../../src/providers/index.ts";
import fixture from "./fixture-policy.json" with { type: "json" };

const policy = fixture as unknown as CompiledPolicyPayload;
const caps: RenderCapabilities = {
  agentCommand: ["/opt/tappass/bin/tappass-agent"],
  gatewayUrl: "http://127.0.0.1:40001",
  hookUrl: "http://127.0.0.1:40003",
  mcpServers: { filesystem: { command: "/opt/tappass/bin/tappass", args: ["mcp", "proxy", "--agent", "coder", "--", "mcp-server-filesystem", "/work"] }, remote: { url: "http://127.0.0.1:40002/mcp" } },
  workspace: "/work/repo",
  home: "/home/dev",
  hookTimeoutSeconds: 10,
};
const goldenDir = join(import.meta.dir, "golden");

describe("providers match their golden files", () => {
  for (const [id, p] of Object.entries(providers)) {
    test(id, () => {
      const files = p.render(policy, caps);
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) {
        const g = join(goldenDir, f.path);
        if (process.env.UPDATE_GOLDEN || !existsSync(g)) {
          mkdirSync(dirname(g), { recursive: true });
          writeFileSync(g, f.content);
        }
        expect({ path: f.path, content: f.content }).toEqual({ path: f.path, content: readFileSync(g, "utf8") });
      }
    });
  }
});

test("renderers are pure: same input, same bytes", () => {
  for (const p of Object.values(providers)) expect(JSON.stringify(p.render(policy, caps))).toBe(JSON.stringify(p.render(structuredClone(policy), { ...caps })));
});

test("claude-code: deny rules hold what the policy denies, the hook calls the agent persona, bypass is disabled", () => {
  const f = providers["claude-code"]!.render(policy, caps);
  const s = JSON.parse(f.find((x) => x.path.endsWith("managed-settings.json"))!.content);
  expect(s.permissions.deny).toEqual(expect.arrayContaining(["WebSearch", "Bash(rm -rf /*)", "Bash(curl * | sh)", "Read(//home/dev/.ssh/**)", "Edit(//home/dev/.ssh/**)", "Read(//etc/shadow)", "mcp__filesystem__write_file"]));
  expect(s.permissions.allow).toEqual(expect.arrayContaining(["Read", "Bash", "WebFetch(domain:api.github.com)", "mcp__filesystem__read_file", "mcp__filesystem__echo", "mcp__remote__echo"]));
  expect(s.permissions.allow).not.toContain("WebSearch");
  expect(s.permissions.disableBypassPermissionsMode).toBe("disable");
  expect(s.allowManagedHooksOnly).toBe(true);
  expect(s.allowManagedPermissionRulesOnly).toBe(true);
  expect(s.hooks.PreToolUse[0].hooks[0]).toEqual({ type: "command", command: "/opt/tappass/bin/tappass-agent hook claude-code", timeout: 10 });
  expect(s.allowedMcpServers).toEqual([{ serverName: "filesystem" }, { serverName: "remote" }]);
  expect(s.env.ANTHROPIC_BASE_URL).toBe("http://127.0.0.1:40001");
  expect(JSON.stringify(s)).not.toMatch(/sk-|api_key/i);
  const mcp = JSON.parse(f.find((x) => x.path.endsWith("mcp.json"))!.content);
  expect(mcp.mcpServers.filesystem.command).toBe("/opt/tappass/bin/tappass");
  expect(mcp.mcpServers.remote).toEqual({ type: "http", url: "http://127.0.0.1:40002/mcp" });
});

test("codex: valid TOML pointing at the gateway, MCP tools enabled/disabled per policy", () => {
  const f = providers.codex!.render(policy, caps);
  const cfg = Bun.TOML.parse(f.find((x) => x.path === "codex/config.toml")!.content) as Record<string, any>;
  expect(cfg.model_provider).toBe("tappass");
  expect(cfg.model_providers.tappass.base_url).toBe("http://127.0.0.1:40001/v1");
  expect(cfg.sandbox_mode).toBe("workspace-write");
  expect(cfg.sandbox_workspace_write.writable_roots).toEqual(["/tmp/build-cache", "/work/repo"]);
  expect(cfg.mcp_servers.filesystem.enabled_tools).toEqual(["echo", "read_file"]);
  expect(cfg.mcp_servers.filesystem.disabled_tools).toEqual(["send_email", "write_file"]);
  const req = Bun.TOML.parse(f.find((x) => x.path === "codex/requirements.toml")!.content) as Record<string, any>;
  expect(req.allowed_sandbox_modes).toEqual(["read-only", "workspace-write"]);
});

test("gemini-cli: policy TOML denies dangerous shell patterns and denied paths above allows", () => {
  const f = providers["gemini-cli"]!.render(policy, caps);
  const pol = Bun.TOML.parse(f.find((x) => x.path.endsWith("policy.toml"))!.content) as { rule: Array<Record<string, any>> };
  const rmRule = pol.rule.find((r) => r.toolName === "run_shell_command" && r.decision === "deny");
  expect(new RegExp(rmRule!.argsPattern).test('{"command":"rm -rf /home"}')).toBe(true);
  expect(pol.rule.some((r) => r.toolName === "google_web_search" && r.decision === "deny")).toBe(true);
  expect(pol.rule.at(-1)).toEqual({ toolName: "*", decision: "deny", priority: 1 });
  // MCP tools in Gemini's own naming (the "__" form is refused by its policy engine)
  expect(pol.rule.every((r) => !String(r.toolName).includes("__"))).toBe(true);
  const s = JSON.parse(f.find((x) => x.path.endsWith("settings.json"))!.content);
  expect(s.security.auth.selectedType).toBe("gemini-api-key");
  // every tool call goes through the BeforeTool hook, which asks the governor
  expect(s.hooksConfig.enabled).toBe(true);
  expect(s.hooks.BeforeTool).toEqual([{ matcher: "*", hooks: [{ type: "command", name: "tappass", command: "/opt/tappass/bin/tappass-agent hook gemini", timeout: 10_000 }] }]);
  const withEnv = JSON.parse(providers["gemini-cli"]!.render(policy, { ...caps, hookEnv: { TAPPASS_TOKEN: "t" } }).find((x) => x.path.endsWith("settings.json"))!.content);
  expect(withEnv.hooks.BeforeTool[0].hooks[0].env).toEqual({ TAPPASS_TOKEN: "t" });
  expect(s.tools.sandbox).toBe(!caps.kernelRing);
});

test("openshell, nono, monty and langchain-sdk carry the filesystem, network, interpreter and tool aspects", () => {
  const os = parseYaml(providers.openshell!.render(policy, caps)[0]!.content);
  expect(os.filesystem_policy.deny).toContain("/home/dev/.ssh");
  expect(os.network_policies.allowed.endpoints).toContainEqual({ host: "api.github.com", port: 443 });
  const flags = providers.nono!.render(policy, caps)[0]!.content.trim().split("\n");
  expect(flags).toEqual(["--allow", "/tmp/build-cache", "--allow", "/work/repo", "--read", "/usr/share/dict"]);
  const m = JSON.parse(providers.monty!.render(policy, caps)[0]!.content);
  expect(m).toMatchObject({ external_functions: ["log", "now", "sha256"], limits: { max_memory_bytes: 64 * 1024 * 1024, max_duration_ms: 2000 } });
  const l = JSON.parse(providers["langchain-sdk"]!.render(policy, caps)[0]!.content);
  expect(l.tools.constraints).toEqual([{ tool: "create_refund", param: "slot:amount", op: "max", value: 100 }]);
});

test("macos-seatbelt: deny by default, the policy's trees, denials last (SBPL: the last match wins), only TapPass on loopback", () => {
  const [sb, run] = providers["macos-seatbelt"]!.render(policy, caps);
  const p = sb!.content;
  expect(p.startsWith("; Rendered by TapPass")).toBe(true);
  expect(p).toContain("(version 1)\n(deny default)");
  // balanced parentheses outside strings and comments: sandbox-exec would refuse the profile otherwise
  let depth = 0;
  for (const line of p.split("\n").filter((l) => !l.startsWith(";"))) {
    for (const ch of line.replace(/"(?:[^"\\]|\\.)*"/g, "")) {
      depth += ch === "(" ? 1 : ch === ")" ? -1 : 0;
      expect(depth).toBeGreaterThanOrEqual(0);
    }
  }
  expect(depth).toBe(0);
  const at = (s: string) => p.indexOf(s);
  // writable: the workspace and read_write (with /tmp's real path); readable: read_only and TapPass
  expect(p).toMatch(/\(allow file-read\* file-write\*\n(  .*\n)*  \(subpath "\/private\/tmp\/build-cache"\)/);
  expect(at('(subpath "/work/repo")')).toBeGreaterThan(at("(allow file-read* file-write*"));
  expect(at('(subpath "/usr/share/dict")')).toBeGreaterThan(0);
  expect(at('(subpath "/opt/tappass/bin")')).toBeGreaterThan(0);
  // denials come after every allow, for files and globbed zones, /etc also as /private/etc
  const deny = at("(deny file-read* file-write*");
  expect(deny).toBeGreaterThan(p.lastIndexOf("(allow "));
  for (const d of ['(subpath "/home/dev/.ssh")', '(subpath "/home/dev/.aws/credentials")', '(subpath "/private/etc/shadow")', '(subpath "/home/dev/.gnupg")']) expect(p.indexOf(d, deny)).toBeGreaterThan(deny);
  // allow-list egress: no direct outbound at all, only the gateway, hook governor and MCP broker ports
  expect(p).not.toContain("(allow network-outbound)");
  expect([...(p.match(/\(allow network-outbound \(remote tcp "localhost:(\d+)"\)\)/g) ?? [])]).toEqual([40001, 40002, 40003].map((n) => `(allow network-outbound (remote tcp "localhost:${n}"))`));
  // "open" egress allows outbound traffic
  const open = providers["macos-seatbelt"]!.render({ ...policy, network: { ...policy.network, egress: "open" } }, caps)[0]!.content;
  expect(open).toContain("(allow network-outbound)");
  expect(run!.mode).toBe(0o755);
  expect(run!.content).toContain('exec sandbox-exec -f "$(dirname "$0")/tappass.sb" "$@"');
});

test("gemini-cli: denied-path globs become regexes that match the paths (not the glob's own text) in the JSON args", async () => {
  const { pathGlobToRegex } = await import("../../src/providers/gemini-cli.ts");
  const hit = (glob: string, path: string) => new RegExp(pathGlobToRegex(glob)).test(JSON.stringify({ file_path: path }));
  expect(hit("**/*.pem", "/srv/app/server.pem")).toBe(true);
  expect(hit("**/*.pem", "server.pem")).toBe(true);
  expect(hit("**/*.pem", "/srv/app/server.pem.txt")).toBe(false);
  expect(hit("**/.env", "/a/b/.env")).toBe(true);
  expect(hit("**/.env", "/a/b/.envrc")).toBe(false);
  expect(hit("/home/u/.ssh/**", "/home/u/.ssh/id_ed25519")).toBe(true);
  expect(hit("/home/u/.ssh/**", "/home/u/.sshx/a")).toBe(false);
  expect(hit("**/id_rsa*", "/x/id_rsa.pub")).toBe(true);
});

test("claude-code: a denied path without an extension is denied as a file and as a directory", async () => {
  const { claudePermissions } = await import("../../src/providers/claude-code.ts");
  const policy = structuredClone(fixture) as unknown as CompiledPolicyPayload;
  policy.filesystem.deny_paths = ["/etc/sudoers", "/srv/keys/**", "/srv/app/server.pem"];
  const { deny } = claudePermissions(policy, caps);
  for (const rule of ["Read(//etc/sudoers)", "Read(//etc/sudoers/**)", "Edit(//etc/sudoers)", "Read(//srv/keys/**)", "Read(//srv/app/server.pem)"]) expect(deny).toContain(rule);
  expect(deny).not.toContain("Read(//srv/app/server.pem/**)");
});
