import type { Migration } from "../migrate.ts";
import { audit } from "./audit.ts";
import { core } from "./core.ts";
import { evalMigrations } from "./evaluation.ts";
import { gateway } from "./gateway.ts";
import { mcp } from "./mcp.ts";
import { pipeline } from "./pipeline.ts";
import { policy } from "./policy.ts";
import { sync } from "./sync.ts";

/** Every subsystem's migrations, applied in this order. */
export const allMigrations: Record<string, Migration[]> = {
  core,
  policy,
  audit,
  pipeline,
  mcp,
  gateway,
  eval: evalMigrations,
  sync,
};
