// Signals to `tappass exec` reach the command, which may clean up: bwrap does not forward them
// (SIGTERM to it ended the sandbox at once and the command was SIGKILLed), and tappass itself died
// of them, leaving its run directories behind and printing no summary.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root } from "../helpers/cli.ts";
import { type ExecRig, execRig } from "../helpers/exec-rig.ts";

setDefaultTimeout(60_000);

let rig: ExecRig;
beforeAll(() => {
  rig = execRig("signals");
});
afterAll(() => rig?.cleanup());

/** The command's whole stdout, with `act` done once it has printed "ready". */
async function outputAround(p: { stdout: unknown }, act: () => void): Promise<string> {
  const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
  let out = "";
  let acted = false;
  for (;;) {
    if (!acted && out.includes("ready")) {
      act();
      acted = true;
    }
    const { value, done } = await reader.read();
    if (done) break;
    out += new TextDecoder().decode(value);
  }
  return out;
}

const runDirs = () => readdirSync(tmpdir()).filter((f) => f.startsWith("tappass-exec-") || f.startsWith("tappass-sbx-")).length;

for (const ring of [true, false]) {
  test(`SIGTERM reaches the command, which exits as it chooses; the summary is printed and nothing is left behind (${ring ? "kernel ring" : "--no-kernel"})`, async () => {
    const before = runDirs();
    const p = Bun.spawn(
      [process.execPath, join(root, "src", "cli", "main.ts"), "exec", "--agent", "coder", ...(ring ? [] : ["--no-kernel"]), "--", "/bin/sh", "-c", "trap 'kill $!; echo cleaned up; exit 5' TERM; echo ready; sleep 30 >/dev/null & wait"],
      { env: { ...process.env, TAPPASS_HOME: rig.home }, cwd: rig.ws, stdout: "pipe", stderr: "pipe", stdin: "ignore" },
    );
    // (the command's cleanup ends its background sleep: without the kernel ring's PID namespace an
    // orphan holding stdout would keep the pipe open until it ends)
    const out = await outputAround(p, () => p.kill("SIGTERM"));
    const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
    expect(out).toContain("cleaned up");
    expect(code).toBe(5);
    expect(err).toContain("exit 5"); // the run's summary
    expect(runDirs()).toBeLessThanOrEqual(before);
  });
}

test("Ctrl-C at a terminal (SIGINT to the whole process group) reaches the command once, and bwrap does not die of it", async () => {
  if (!Bun.which("setsid")) return;
  // setsid: a process group of its own, as a terminal's foreground job has; the signal goes to all of it
  const p = Bun.spawn(
    ["setsid", process.execPath, join(root, "src", "cli", "main.ts"), "exec", "--agent", "coder", "--quiet", "--", "/bin/sh", "-c", 'n=0; trap "n=\\$((n+1)); echo interrupted \\$n; sleep 0.3; exit 6" INT; echo ready; sleep 30 & wait'],
    { env: { ...process.env, TAPPASS_HOME: rig.home }, cwd: rig.ws, stdout: "pipe", stderr: "pipe", stdin: "ignore" },
  );
  const out = await outputAround(p, () => process.kill(-p.pid, "SIGINT"));
  expect(await p.exited).toBe(6);
  expect(out).toContain("interrupted 1");
  expect(out).not.toContain("interrupted 2"); // not relayed a second time
});
