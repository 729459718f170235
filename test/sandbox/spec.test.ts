/** specFromPolicy: the Compiled Policy's filesystem and network aspects → SandboxSpec; bwrap plan. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { tappassHome } from "../../src/engine/home.ts";
import { bwrapArgs } from "../../src/sandbox/netns.ts";
import { expandPath, specFromPolicy } from "../../src/sandbox/spec.ts";
import { seccompAvailable, buildFilter } from "../../src/sandbox/seccomp.ts";
import { testPayload } from "../helpers/policy.ts";
import { makeFixture, type Fixture } from "./helpers.ts";

let f: Fixture;
beforeAll(() => {
  f = makeFixture();
});
afterAll(() => f?.cleanup());

describe("sandbox spec", () => {
  test("paths: ~, ${cwd}, $HOME and relative paths expand", () => {
    const ctx = { workspace: "/w/proj", home: "/home/ada" };
    expect(expandPath("~/.ssh", ctx)).toBe("/home/ada/.ssh");
    expect(expandPath("${cwd}/build", ctx)).toBe("/w/proj/build");
    expect(expandPath("$HOME/.aws", ctx)).toBe("/home/ada/.aws");
    expect(expandPath("node_modules", ctx)).toBe("/w/proj/node_modules");
  });

  test("specFromPolicy reads the filesystem and network aspects", () => {
    const payload = testPayload({
      filesystem: { workspace: "${cwd}", read_only: ["~/notes.txt"], read_write: ["/tmp/scratch"], deny_paths: ["~/.ssh", "~/.aws", "~/.netrc"] },
      network: { egress: "allowlist", allow_domains: ["api.github.com", "*.npmjs.org"], deny_domains: ["evil.npmjs.org"], deny_categories: [] },
    });
    const spec = specFromPolicy(payload, { workspace: f.ws, home: f.home, gatewayPort: 41001, brokerPort: 41002, keyringPath: f.keyring, env: { PATH: "/usr/bin" } });
    expect(spec.cwd).toBe(f.ws);
    expect(spec.fs.read_write).toEqual([f.ws, "/tmp/scratch"]);
    expect(spec.fs.read_only).toContain(join(f.home, "notes.txt"));
    expect(spec.fs.read_only).toContain("/usr");
    expect(spec.fs.deny).toEqual(expect.arrayContaining([join(f.home, ".ssh"), join(f.home, ".aws"), join(f.home, ".netrc"), "/etc/shadow", tappassHome()]));
    expect(spec.keyring_path).toBe(f.keyring);
    expect(spec.bridged_ports).toEqual([41001, 41002]);
    expect(spec.connect_tcp_ports).toEqual([41001, 41002, 3128]);
    expect(spec.egress).toEqual({ mode: "allowlist", allow_domains: ["api.github.com", "*.npmjs.org"], deny_domains: ["evil.npmjs.org"], proxy_port: 3128 });
    // root with a root-owned workspace → user namespace, no capabilities
    if (process.getuid?.() === 0) expect(spec.userns).toEqual({ uid: 1000, gid: 1000 });
  });

  test("egress deny empties the allow-list; a workspace inside a denied path is refused", () => {
    const deny = specFromPolicy(testPayload({ network: { egress: "deny", allow_domains: ["a.com"], deny_domains: [], deny_categories: [] } }), { workspace: f.ws, home: f.home });
    expect(deny.egress.allow_domains).toEqual([]);
    expect(() =>
      specFromPolicy(testPayload({ filesystem: { workspace: "${cwd}", read_only: [], read_write: [], deny_paths: [f.home] } }), { workspace: f.ws, home: f.home }),
    ).toThrow(/inside the denied path/);
  });

  test("the host's /tmp itself cannot be the workspace (the ring gives the agent a private /tmp): a clear error, exit 3", () => {
    let err: unknown;
    try {
      specFromPolicy(testPayload(), { workspace: "/tmp", home: f.home });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: "sandbox_workspace_tmp", exitCode: 3 });
    expect(String((err as Error).message)).toContain("private, empty /tmp");
    expect((err as { hint?: string }).hint).toContain("mkdir -p /tmp/work");
    // a directory of its own under /tmp is fine
    expect(specFromPolicy(testPayload(), { workspace: f.ws, home: f.home }).cwd).toBe(f.ws);
  });

  test("bwrap plan: masks denied dirs (000) and files, keeps the keyring read-only, binds outermost first", () => {
    const spec = specFromPolicy(
      testPayload({ filesystem: { workspace: "${cwd}", read_only: [f.home], read_write: [], deny_paths: ["~/.ssh", "~/.netrc"] } }),
      { workspace: f.ws, home: f.home, keyringPath: f.keyring },
    );
    const plan = bwrapArgs(spec, { sockDir: "/tmp/sock", maskFile: "/tmp/sock/mask" });
    const a = plan.args.join(" ");
    expect(a).toContain("--unshare-net");
    expect(a).toContain("--unshare-pid");
    expect(a).toContain(`--perms 0000 --tmpfs ${join(f.home, ".ssh")}`);
    expect(a).toContain(`--ro-bind /tmp/sock/mask ${join(f.home, ".netrc")}`);
    expect(a).toContain(`--ro-bind ${f.keyring} ${f.keyring}`);
    expect(a.indexOf(`--ro-bind ${f.home} ${f.home}`)).toBeLessThan(a.indexOf(`--bind ${f.ws} ${f.ws}`));
    expect(plan.masked.map((m) => m.path)).toEqual(expect.arrayContaining([join(f.home, ".ssh"), join(f.home, ".netrc")]));
  });

  test("seccomp filter builds (x86_64/aarch64) and only jumps forward", () => {
    if (!seccompAvailable()) {
      console.log("seccomp not available: skipping filter build check");
      return;
    }
    const prog = buildFilter();
    expect(prog.length).toBeGreaterThan(10);
    expect(prog.length).toBeLessThan(64);
  });
});
