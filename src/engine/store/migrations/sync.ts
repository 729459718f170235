import type { Migration } from "../migrate.ts";

/** Tables owned by src/engine/sync. Append new versions; never edit an applied one. */
export const sync: Migration[] = [];
