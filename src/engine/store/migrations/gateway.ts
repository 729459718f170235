import type { Migration } from "../migrate.ts";

/** Tables owned by src/engine/gateway. Append new versions; never edit an applied one. */
export const gateway: Migration[] = [
  {
    version: 1,
    name: "provider keys sealed with AES-256-GCM under the KEK in TAPPASS_HOME/keys",
    sql: `CREATE TABLE gateway_provider_keys (
      provider TEXT PRIMARY KEY,
      kek_id TEXT NOT NULL,
      nonce BLOB NOT NULL,
      ciphertext BLOB NOT NULL,
      tag BLOB NOT NULL,
      fingerprint TEXT NOT NULL,
      updated_at TEXT NOT NULL
    )`,
  },
];
