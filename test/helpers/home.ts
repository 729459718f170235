import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

/** Path to the shared corpora (../shared/corpora from the project root). */
export const corporaDir = join(import.meta.dir, "..", "..", "..", "shared", "corpora");
