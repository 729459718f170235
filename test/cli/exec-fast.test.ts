// `tappass exec` skips oclif for the well-formed `exec [FLAGS…] -- COMMAND…`; everything else
// goes through oclif. Both must parse the same flags and print errors the same way.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseExecArgv } from "../../src/cli/exec-fast.ts";
import { tappass } from "../helpers/cli.ts";

setDefaultTimeout(60_000);

test("parseExecArgv: the flags of the exec command, then `--` and the command", () => {
  expect(parseExecArgv(["--", "/bin/true"])).toEqual({ flags: { "no-kernel": false, quiet: false, json: false }, command: ["/bin/true"] });
  expect(
    parseExecArgv(["--agent", "coder", "--no-kernel", "--quiet", "--summary=/tmp/s.json", "--upstream-anthropic", "http://127.0.0.1:9", "--upstream-openai=http://127.0.0.1:8", "--mcp-config", "m.json", "--json", "--", "claude", "-p", "hi", "--", "--quiet"]),
  ).toEqual({
    flags: { agent: "coder", "no-kernel": true, quiet: true, json: true, summary: "/tmp/s.json", "upstream-anthropic": "http://127.0.0.1:9", "upstream-openai": "http://127.0.0.1:8", "mcp-config": "m.json" },
    command: ["claude", "-p", "hi", "--", "--quiet"],
  });
});

test("parseExecArgv: anything else is left to oclif (help, unknown/repeated/malformed flags, no `--`, no command)", () => {
  for (const args of [
    ["/bin/true"],
    ["--help"],
    ["--", ...[]],
    ["--help", "--", "/bin/true"],
    ["-h", "--", "/bin/true"],
    ["--nope", "--", "/bin/true"],
    ["--agent", "--", "/bin/true"],
    ["--agent=", "--", "/bin/true"],
    ["--agent", "a", "--agent", "b", "--", "/bin/true"],
    ["--quiet=true", "--", "/bin/true"],
    ["--agent", "--quiet", "--", "/bin/true"],
    ["x", "--", "/bin/true"],
  ]) {
    expect(parseExecArgv(args)).toBeNull();
  }
});

let home: string;
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), "tappass-test-execfast-"));
  const r = tappass(["init", "--org", "acme"], { home });
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

test("errors: the fast path and oclif print the same line, the same JSON and the same exit code", () => {
  // Same request, once through the fast path (with `--`) and once through oclif (without).
  const fast = tappass(["exec", "--json", "--agent", "nobody", "--", "/bin/true"], { home });
  const slow = tappass(["exec", "--json", "--agent", "nobody", "/bin/true"], { home });
  expect(fast.code).toBe(3);
  expect(slow.code).toBe(3);
  expect(fast.stderr).toBe(slow.stderr);
  expect(fast.stdout).toBe(slow.stdout);
  expect(fast.json).toMatchObject({ error: { code: "unknown_agent" } });

  const nf = tappass(["exec", "--", "/no/such/command"], { home });
  const nfSlow = tappass(["exec", "/no/such/command"], { home });
  expect(nf.code).toBe(3);
  expect(nf.stderr).toBe(nfSlow.stderr);
  expect(nf.stderr).toContain("command not found: /no/such/command");

  // oclif still owns usage errors and help
  const bad = tappass(["exec", "--nope", "--", "/bin/true"], { home });
  expect(bad.code).toBe(2);
  expect(tappass(["exec", "--help"], { home }).stdout).toContain("--no-kernel");
});

test("exec from /tmp itself is refused with what to do (the ring's /tmp is private)", () => {
  const r = tappass(["exec", "--", "/bin/true"], { home, cwd: "/tmp" });
  expect(r.code).toBe(3);
  expect(r.stderr).toContain("which the kernel ring replaces with a private, empty /tmp");
  expect(r.stderr).toContain("mkdir -p /tmp/work");
});
