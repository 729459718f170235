/** `tappass scan`: the detectors over a file or piped stdin, from the CLI as a user runs it. */
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tappass } from "../helpers/cli.ts";
import { tempHome } from "../helpers/home.ts";

let cleanup = () => {};
afterEach(() => cleanup());

// a GitHub token's shape, assembled so no scanner flags this file
const token = `ghp_${"x7Kq2mRt9LwZ4vNc8bYp".repeat(2).slice(0, 36)}`;

test("scan reads piped stdin when no FILE is given (never as the FILE's name), a file, or -", () => {
  const t = tempHome();
  cleanup = t.cleanup;
  const home = t.home;
  tappass(["init"], { home });
  const text = `please deploy with ${token}\n`;
  const piped = tappass(["scan", "--json"], { home, input: text });
  expect(piped.code).toBe(0);
  expect(piped.json).toMatchObject({ decision: "block", findings: [expect.objectContaining({ detector: "detect_secrets", type: "github_pat" })] });
  expect(tappass(["scan", "-", "--json"], { home, input: text }).json).toMatchObject({ decision: "block" });
  const f = join(home, "prompt.txt");
  writeFileSync(f, text);
  expect(tappass(["scan", f, "--json"], { home }).json).toMatchObject({ decision: "block" });
  expect(tappass(["scan", "--json"], { home, input: "what is the capital of France?\n" }).json).toEqual({ decision: "allow", findings: [] });
  // a missing FILE: exit 3, one line, and nothing read from stdin is echoed
  const missing = tappass(["scan", join(home, "nope.txt")], { home, input: text });
  expect(missing.code).toBe(3);
  expect(missing.stderr.trim().split("\n")).toHaveLength(1);
  expect(missing.stderr).not.toContain(token);
  // a command whose argument is required does not take it from stdin either
  const verify = tappass(["policy", "verify"], { home, input: "hello\n" });
  expect(verify.code).toBe(2);
  expect(verify.stderr).toContain("Missing 1 required arg: file");
});
