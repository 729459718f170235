/**
 * `tappass init`: create TAPPASS_HOME (0700), state.db (migrated), the signing keys, and the
 * org record. Idempotent: a second run changes nothing and reports that nothing changed.
 */
import { chmodSync, existsSync, mkdirSync, statSync } from "node:fs";
import { inputError } from "./errors.ts";
import { statePath, tappassHome } from "./home.ts";
import { ensureKeys, loadKeys } from "./crypto/keys.ts";
import { getMeta, openState, setMeta } from "./store/state.ts";
import { seedOrgBaseline } from "./policy/seed.ts";

export interface InitResult {
  home: string;
  org: string;
  /** What this run created; empty on a second run. */
  created: string[];
  changed: boolean;
  ed25519_kid: string;
  es256_kid: string;
}

/** Extra initialisers other subsystems hang on `init` (e.g. the built-in org baseline policy). */
export type InitStep = (ctx: { home: string; org: string; created: string[] }) => Promise<void> | void;
const extraSteps: InitStep[] = [];
export const onInit = (step: InitStep) => extraSteps.push(step);
// The built-in org baseline policy (src/engine/policy/seed.ts): a fresh install is governed, not open.
onInit(seedOrgBaseline);

export async function initInstall(opts: { home?: string; org?: string } = {}): Promise<InitResult> {
  const home = opts.home ?? tappassHome();
  const created: string[] = [];
  if (!existsSync(home)) {
    mkdirSync(home, { recursive: true, mode: 0o700 });
    created.push("home");
  } else if (!statSync(home).isDirectory()) {
    throw inputError("bad_home", `TAPPASS_HOME ${home} is not a directory`, { hint: "point TAPPASS_HOME at a directory (it is created if missing)" });
  }
  chmodSync(home, 0o700);
  const hadDb = existsSync(statePath(home));
  const db = openState(home, { create: true });
  if (!hadDb) created.push("state.db");
  chmodSync(statePath(home), 0o600);

  const existingOrg = getMeta(db, "org");
  if (existingOrg && opts.org && opts.org !== existingOrg) {
    throw inputError("org_mismatch", `this install already belongs to org "${existingOrg}"`, {
      hint: `use a different TAPPASS_HOME for org "${opts.org}"`,
    });
  }
  const org = existingOrg ?? opts.org ?? "default";
  if (!existingOrg) {
    setMeta(db, "org", org);
    setMeta(db, "created_at", new Date().toISOString());
    created.push(`org:${org}`);
  }
  created.push(...(await ensureKeys(home)).map((k) => `key:${k}`));
  for (const step of extraSteps) await step({ home, org, created });
  const keys = loadKeys(home);
  return { home, org, created, changed: created.length > 0, ed25519_kid: keys.ed25519.kid, es256_kid: keys.es256.kid };
}
