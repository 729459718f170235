import type { Migration } from "../migrate.ts";

/** Tables owned by src/engine/eval. Append new versions; never edit an applied one. */
export const evalMigrations: Migration[] = [];
