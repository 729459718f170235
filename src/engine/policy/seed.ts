/**
 * `tappass init` hook: the org starts governed by the built-in baseline (catalog/baseline.yaml,
 * standard preset). It records the org level's first source version (no sources of its own:
 * the baseline applies beneath it), so `policy apply --level org` later starts at version 2.
 */
import { openState } from "../store/state.ts";
import { currentSources, saveSources } from "./registry.ts";
import { catalog } from "./catalog.ts";

export function seedOrgBaseline(ctx: { home: string; created: string[] }): void {
  catalog(); // fail init loudly if a shipped catalog or pack is broken
  const db = openState(ctx.home);
  db.transaction(() => {
    if (currentSources(db, { level: "org", target: "" }).version === 0) {
      saveSources(db, { level: "org", target: "" }, { packs: [], files: [] });
      ctx.created.push("policy:baseline");
    }
  });
}
