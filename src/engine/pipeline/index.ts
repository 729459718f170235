/**
 * The pipeline: one engine that the LLM gateway, the MCP broker, harness hooks and the eval
 * harness all call. One Pipeline per Compiled Policy; one GovernedCall per call (see types.ts).
 */
import type { Keys } from "../crypto/keys.ts";
import { openAuditLog, type AuditLog } from "../audit/store.ts";
import type { Db } from "../store/db.ts";
import type { CompiledPolicyEnvelope, CompiledPolicyPayload } from "../policy/types.ts";
import { beginCall } from "./runner.ts";
import { StepTimings } from "./timings.ts";
import type { CallInit, GovernedCall, Pipeline } from "./types.ts";

export type { Pipeline } from "./types.ts";
export { STEPS } from "./steps/index.ts";
export { pinTool, checkPin, listPins, type PinCheck } from "./pins.ts";
export { costOf, priceOf } from "./prices.ts";

/** One audit log per db handle, so every pipeline in a process shares its group commit. */
const logs = new WeakMap<Db, AuditLog>();
export function sharedAuditLog(db: Db, keys: Keys): AuditLog {
  let l = logs.get(db);
  if (!l) {
    l = openAuditLog(db, keys);
    logs.set(db, l);
  }
  return l;
}

export function createPipeline(opts: { envelope: CompiledPolicyEnvelope; db: Db; keys: Keys; audit?: AuditLog }): Pipeline {
  let envelope = opts.envelope;
  const timings = new StepTimings();
  const audit = () => opts.audit ?? sharedAuditLog(opts.db, opts.keys);
  return {
    get policy(): CompiledPolicyPayload {
      return envelope.payload;
    },
    begin(init: CallInit): GovernedCall {
      return beginCall({ envelope, db: opts.db, keys: opts.keys, audit, timings }, init);
    },
    setEnvelope(env: CompiledPolicyEnvelope) {
      envelope = env;
    },
    stepTimings: () => timings.summary(),
  };
}
