// `tappass demo` is the README's first command: it must run the main job end to end, offline,
// and exit 0 with every decision as the policy says.
import { expect, test } from "bun:test";
import { built, hasBinary, tappass } from "../helpers/cli.ts";
import { tempHome } from "../helpers/home.ts";

function check(r: { code: number; json: any; stderr: string }) {
  expect(r.code).toBe(0);
  expect(r.json.passed).toBe(true);
  const by = Object.fromEntries(r.json.scenarios.map((s: { scenario: string; outcome: string }) => [s.scenario.split(":")[0], s.outcome]));
  expect(by).toMatchObject({ "allowed action": "allowed", "secret leak in a prompt": "blocked", "denied tool": "blocked", "forbidden zone": "blocked", "egress to pastebin.com": "blocked" });
  expect(r.json.audit.ok).toBe(true);
  expect(r.json.audit.rows).toBeGreaterThanOrEqual(5);
  expect(r.json.kernel).toContain("confined");
}

test("tappass demo (from source) runs the main job and ends with a verified audit chain", () => {
  const t = tempHome();
  try {
    check(tappass(["demo", "--json"], { home: t.home }));
  } finally {
    t.cleanup();
  }
}, 120_000);

test("dist/tappass demo (the compiled binary) does the same", () => {
  if (!hasBinary()) throw new Error("dist/tappass missing: npm test builds it before the tests");
  const t = tempHome();
  try {
    check(built("tappass", ["demo", "--json"], { home: t.home }));
  } finally {
    t.cleanup();
  }
}, 120_000);
