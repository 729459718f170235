import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** TAPPASS_HOME (default ~/.tappass): state.db, keys/, host files. Every command honours it. */
export function tappassHome(): string {
  const env = process.env.TAPPASS_HOME;
  return env && env.length > 0 ? resolve(env) : join(homedir(), ".tappass");
}

export const statePath = (home = tappassHome()) => join(home, "state.db");
export const keysDir = (home = tappassHome()) => join(home, "keys");
