import type { Migration } from "../migrate.ts";

/** Tables owned by src/engine/pipeline. Append new versions; never edit an applied one. */
export const pipeline: Migration[] = [];
