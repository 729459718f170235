import type { Migration } from "../migrate.ts";

/** Tables owned by src/engine/gateway. Append new versions; never edit an applied one. */
export const gateway: Migration[] = [];
