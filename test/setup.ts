// Runs before every test file: no test may touch the real ~/.tappass.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

if (!process.env.TAPPASS_HOME || !process.env.TAPPASS_HOME.includes("tappass-test-")) {
  process.env.TAPPASS_HOME = mkdtempSync(join(tmpdir(), "tappass-test-default-"));
}
