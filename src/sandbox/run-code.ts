/**
 * Where `tappass run-code` gets its interpreter aspect: a signed Compiled Policy envelope file
 * (verified against this install's Ed25519 key, and not expired — fail closed), or the
 * policy compiler for a named agent.
 */
import { readFileSync } from "node:fs";
import { canonicalJson } from "../engine/canonical.ts";
import { parseSignature, utf8, verifyBytes } from "../engine/crypto/ed25519.ts";
import { loadKeys } from "../engine/crypto/keys.ts";
import { deniedError, inputError, internalError } from "../engine/errors.ts";
import type { CompiledPolicyEnvelope, CompiledPolicyPayload } from "../engine/policy/types.ts";

export type InterpreterAspect = CompiledPolicyPayload["interpreter"];

function checkAspect(a: unknown, where: string): InterpreterAspect {
  const x = a as Partial<InterpreterAspect> | undefined;
  if (!x || !Array.isArray(x.host_functions) || typeof x.memory_mb !== "number" || typeof x.cpu_time_ms !== "number" || x.memory_mb <= 0 || x.cpu_time_ms <= 0) {
    throw inputError("policy_invalid", "the policy has no valid interpreter aspect (host_functions, memory_mb, cpu_time_ms)", { where });
  }
  return { host_functions: x.host_functions.map(String), memory_mb: x.memory_mb, cpu_time_ms: x.cpu_time_ms };
}

/** Verify a Compiled Policy envelope: signature by this install's key, and not expired. */
export function verifyEnvelope(env: CompiledPolicyEnvelope, where: string, now = Date.now()): CompiledPolicyPayload {
  if (!env || typeof env !== "object" || !env.payload || typeof env.signature !== "string") {
    throw inputError("policy_invalid", "not a Compiled Policy envelope ({payload, signature})", { where });
  }
  const sig = parseSignature(env.signature);
  if (!sig) throw deniedError("policy_signature_invalid", "the policy signature is malformed", { where });
  const key = loadKeys().ed25519;
  if (sig.kid !== key.kid) {
    throw deniedError("policy_signature_unknown_key", `the policy is signed by key ${sig.kid}, not this install's key ${key.kid}`, {
      where,
      hint: "compile the policy on this install, or run with --agent",
    });
  }
  if (!verifyBytes(sig.sig, utf8(canonicalJson(env.payload)), key.public)) {
    throw deniedError("policy_signature_invalid", "the policy signature does not verify (the file was changed after signing)", { where });
  }
  const exp = Date.parse(env.payload.expires_at);
  if (!Number.isFinite(exp) || exp <= now) {
    throw deniedError("policy_expired", `the policy expired at ${env.payload.expires_at}`, { where, hint: "compile a fresh policy" });
  }
  return env.payload;
}

export function interpreterAspectFromFile(path: string): InterpreterAspect {
  let env: CompiledPolicyEnvelope;
  try {
    env = JSON.parse(readFileSync(path, "utf8")) as CompiledPolicyEnvelope;
  } catch (e) {
    throw inputError("policy_unreadable", `cannot read the policy: ${(e as Error).message}`, { where: path });
  }
  return checkAspect(verifyEnvelope(env, path).interpreter, path);
}

export async function interpreterAspectForAgent(agent: string): Promise<InterpreterAspect> {
  let mod: { compileForAgent?: (db: unknown, name: string) => CompiledPolicyEnvelope };
  try {
    mod = (await import("../engine/policy/index.ts")) as typeof mod;
  } catch (e) {
    throw internalError(`the policy compiler is not available in this build: ${(e as Error).message}`, { hint: "use --policy FILE.json with a compiled envelope" });
  }
  if (typeof mod.compileForAgent !== "function") throw internalError("the policy compiler does not export compileForAgent", { hint: "use --policy FILE.json" });
  const { openState } = await import("../engine/store/state.ts");
  const env = mod.compileForAgent(openState(), agent);
  return checkAspect(env.payload.interpreter, `agent ${agent}`);
}
