import type { Migration } from "../migrate.ts";

/** Tables owned by src/engine/audit. Append new versions; never edit an applied one. */
export const audit: Migration[] = [];
