import type { Migration } from "../migrate.ts";

/** Tables owned by src/engine/mcp. Append new versions; never edit an applied one. */
export const mcp: Migration[] = [];
