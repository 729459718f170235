import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { plainProgress } from "../../src/cli/progress.ts";
import { root } from "../helpers/cli.ts";

const script = (body: string) => `import { startProgress } from ${JSON.stringify(join(root, "src/cli/progress.ts"))};\n${body}`;

test("without a TTY, progress is plain lines on stderr with no escape codes", async () => {
  const lines: string[] = [];
  const p = plainProgress("scan", { write: (s: string) => lines.push(s) });
  p.update("1/3", 1 / 3);
  p.update("2/3", 2 / 3); // throttled
  await p.done("3 files");
  expect(lines).toEqual(["scan: 1/3 (33%)\n", "scan: done — 3 files\n"]);
});

test("piped output of a child using startProgress carries no ANSI escape codes", () => {
  const code = script(`const p = await startProgress("work"); p.update("half", 0.5); await p.done("ok");`);
  const r = Bun.spawnSync([process.execPath, "-e", code], { stderr: "pipe", stdout: "pipe", env: { ...process.env, CI: "" } });
  const err = Buffer.from(r.stderr).toString();
  expect(err).toContain("work: done — ok");
  expect(err).not.toMatch(/\x1b\[/);
});

test("on a terminal, startProgress renders with ink (spinner/bar) on stderr", () => {
  const hasScript = Bun.spawnSync(["sh", "-c", "command -v script"]).exitCode === 0;
  if (!hasScript) {
    console.warn("skipping TTY rendering check: `script` (util-linux) not installed");
    return;
  }
  const file = join(root, "node_modules", ".cache", "progress-tty.ts");
  mkdirSync(join(root, "node_modules", ".cache"), { recursive: true });
  writeFileSync(file, script(`const p = await startProgress("work"); p.update("half", 0.5); await new Promise(r => setTimeout(r, 150)); await p.done("finished");`));
  const r = Bun.spawnSync(["script", "-qec", `stty cols 100; ${process.execPath} ${file}`, "/dev/null"], { env: { ...process.env, CI: "", TERM: "xterm-256color", NO_COLOR: "" } });
  const out = Buffer.from(r.stdout).toString();
  expect(out).toContain("finished");
  expect(out).toMatch(/✔|\x1b\[/);
});
