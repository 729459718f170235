// exec's prelaunch: a second run of the same command in the same directory starts the sandbox from
// the command line the first one used, while the policy loads — and keeps it only when the policy
// still gives exactly that command line. A policy change that moves a mount (a newly denied path)
// must never run under the old layout.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tappass } from "../helpers/cli.ts";
import { type ExecRig, execRig } from "../helpers/exec-rig.ts";
import { tappassAsync } from "../helpers/run.ts";

setDefaultTimeout(120_000);

let rig: ExecRig;
beforeAll(() => {
  rig = execRig("prelaunch", { fakeHome: true });
  mkdirSync(join(rig.ws, "vault"));
  writeFileSync(join(rig.ws, "vault", "key.txt"), "VAULT-SECRET\n");
});
afterAll(() => rig?.cleanup());

const run = () =>
  tappassAsync(["exec", "--agent", "coder", "--quiet", "--", "/bin/sh", "-c", "cat notes.txt; cat vault/key.txt"], {
    home: rig.home,
    cwd: rig.ws,
    env: { HOME: rig.fakeHome, TAPPASS_DEBUG: "1" },
  });
const launchFiles = () => readdirSync(join(rig.home, "cache")).filter((f) => f.startsWith("launch-"));

test("the first run starts the sandbox after the policy and remembers its command line; the next one prelaunches it", async () => {
  const first = await run();
  expect(first.code).toBe(0);
  expect(first.stderr).not.toMatch(/\(policy v\d+\) →/); // --quiet: no start line
  expect(first.stdout).toBe("hello\nVAULT-SECRET\n");
  expect(first.stderr).toContain("spawning bwrap");
  expect(first.stderr).not.toContain("prelaunch");
  expect(launchFiles()).toHaveLength(1);

  const second = await run();
  expect(second.code).toBe(0);
  expect(second.stdout).toBe("hello\nVAULT-SECRET\n");
  expect(second.stderr).toContain("spec handed to the prelaunched sandbox");
  expect(second.stderr).not.toContain("spawning bwrap");

  // other arguments to the same program: the same sandbox (the command travels in the spec)
  const other = await tappassAsync(["exec", "--agent", "coder", "--quiet", "--", "/bin/sh", "-c", "echo other; cat notes.txt"], { home: rig.home, cwd: rig.ws, env: { HOME: rig.fakeHome, TAPPASS_DEBUG: "1" } });
  expect(other.stdout).toBe("other\nhello\n");
  expect(other.stderr).toContain("spec handed to the prelaunched sandbox");
  expect(launchFiles()).toHaveLength(1);
});

test("a policy that changes the mounts (a newly denied path) kills the prelaunched sandbox and runs under the new layout", async () => {
  const policy = join(rig.ws, "agent-policy.yaml");
  writeFileSync(policy, 'tools:\n  dangerous_commands: ["touch *should-not-exist*"]\nfilesystem:\n  deny_paths: ["${cwd}/vault"]\n');
  expect(tappass(["policy", "apply", "--level", "agent=coder", policy], { home: rig.home }).code).toBe(0);

  const changed = await run();
  expect(changed.stderr).toContain("prelaunching bwrap"); // started from the old command line…
  expect(changed.stderr).not.toContain("prelaunched bwrap kept"); // …and not used
  expect(changed.stderr).toContain("spawning bwrap");
  expect(changed.stdout).toBe("hello\n");
  expect(changed.stdout + changed.stderr).not.toContain("VAULT-SECRET");
  expect(changed.stderr).toMatch(/vault\/key\.txt: Permission denied/);
  expect(changed.stderr).not.toContain("no sandbox spec received"); // the abandoned one died silently

  const again = await run();
  expect(again.stderr).toContain("spec handed to the prelaunched sandbox");
  expect(again.stdout).toBe("hello\n");
  expect(again.stdout + again.stderr).not.toContain("VAULT-SECRET");
});

test("an unreadable launch cache is a miss, and an exec that fails before the spawn leaves no sandbox behind", async () => {
  for (const f of launchFiles()) writeFileSync(join(rig.home, "cache", f), "not json");
  const r = await run();
  expect(r.stdout).toBe("hello\n");
  expect(r.stderr).not.toContain("prelaunching");
  // an entry naming another program than bubblewrap is not run
  const marker = join(rig.ws, "ran");
  for (const f of launchFiles()) writeFileSync(join(rig.home, "cache", f), JSON.stringify({ argv: ["/bin/sh", "-c", `touch ${marker}`] }));
  expect((await run()).stdout).toBe("hello\n");
  expect(existsSync(marker)).toBe(false);
  for (const f of launchFiles()) writeFileSync(join(rig.home, "cache", f), "not json");
  const r2 = await run();
  expect(r2.stderr).toContain("spawning bwrap");

  // prelaunched (the run above re-saved the command line), then the state cannot be opened:
  // the error, and the sandbox killed before it ran anything
  expect(launchFiles()).toHaveLength(1);
  const db = join(rig.home, "state.db");
  renameSync(db, `${db}.away`);
  try {
    const bad = await run();
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("prelaunching bwrap");
    expect(bad.stderr).toContain("no TapPass state");
    expect(bad.stdout).toBe("");
    expect(bad.stderr).not.toContain("no sandbox spec received");
  } finally {
    renameSync(`${db}.away`, db);
  }
  const ps = Bun.spawnSync(["ps", "-eo", "args"]).stdout.toString();
  expect(ps).not.toContain("__exec --spec-fd");
});
