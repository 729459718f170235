// Runs before every test file: no test may touch the real ~/.tappass.
import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

if (!process.env.TAPPASS_HOME || !process.env.TAPPASS_HOME.includes("tappass-test-")) {
  const home = mkdtempSync(join(tmpdir(), "tappass-test-default-"));
  process.env.TAPPASS_HOME = home;
  // not left behind in the machine's temp directory, run after run (a preload's afterAll runs once, after every file)
  afterAll(() => rmSync(home, { recursive: true, force: true }));
}
