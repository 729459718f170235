import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { closeAllState } from "../../src/engine/store/state.ts";

/** A fresh TAPPASS_HOME for one test; sets process.env.TAPPASS_HOME and returns a cleanup. */
export function tempHome(): { home: string; cleanup: () => void } {
  const home = mkdtempSync(join(tmpdir(), "tappass-test-"));
  const prev = process.env.TAPPASS_HOME;
  process.env.TAPPASS_HOME = home;
  return {
    home,
    cleanup: () => {
      closeAllState();
      process.env.TAPPASS_HOME = prev;
      rmSync(home, { recursive: true, force: true });
    },
  };
}

const root = join(import.meta.dir, "..", "..");

/**
 * Path to the shared corpora: $TAPPASS_CORPORA, else ../shared/corpora beside the project, else —
 * for a local clone (CI clones the checkout into a temporary directory) — beside the repository it
 * was cloned from. Read in place, never copied.
 */
export const corporaDir = findCorpora();

function findCorpora(): string {
  if (process.env.TAPPASS_CORPORA) return process.env.TAPPASS_CORPORA;
  const beside = join(root, "..", "shared", "corpora");
  if (existsSync(beside)) return beside;
  const origin = spawnSync("git", ["config", "--get", "remote.origin.url"], { cwd: root, encoding: "utf8" }).stdout?.trim() ?? "";
  const path = origin.startsWith("file://") ? origin.slice(7) : origin;
  if (path && isAbsolute(path)) {
    const fromOrigin = join(path, "..", "shared", "corpora");
    if (existsSync(fromOrigin)) return fromOrigin;
  }
  return beside; // missing: the corpus tests fail and name this path
}
