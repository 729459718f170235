import type { Migration } from "../migrate.ts";

/** Tables owned by src/engine/policy. Append new versions; never edit an applied one. */
export const policy: Migration[] = [];
