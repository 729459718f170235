/**
 * Where `tappass run-code` gets its interpreter aspect: a signed Compiled Policy envelope file
 * (verified against this install's Ed25519 key, and not expired — fail closed, through the
 * policy engine's verifyEnvelope), or the policy compiler for a named agent.
 */
import { readFileSync } from "node:fs";
import { loadKeys } from "../engine/crypto/keys.ts";
import { deniedError, inputError, internalError } from "../engine/errors.ts";
import type { CompiledPolicyEnvelope, CompiledPolicyPayload } from "../engine/policy/types.ts";

export type InterpreterAspect = CompiledPolicyPayload["interpreter"];

/** The interpreter aspect, and the paths its workspace functions may not touch (the policy's forbidden zones and deny paths). */
export type InterpreterPolicy = InterpreterAspect & { zones: string[] };

const zonesOf = (p: CompiledPolicyPayload): string[] => [...(p.tools?.forbidden_zones ?? []), ...(p.filesystem?.deny_paths ?? [])];

function checkAspect(a: unknown, where: string): InterpreterAspect {
  const x = a as Partial<InterpreterAspect> | undefined;
  if (!x || !Array.isArray(x.host_functions) || typeof x.memory_mb !== "number" || typeof x.cpu_time_ms !== "number" || x.memory_mb <= 0 || x.cpu_time_ms <= 0) {
    throw inputError("policy_invalid", "the policy has no valid interpreter aspect (host_functions, memory_mb, cpu_time_ms)", { where });
  }
  return { host_functions: x.host_functions.map(String), memory_mb: x.memory_mb, cpu_time_ms: x.cpu_time_ms };
}

export async function interpreterAspectFromFile(path: string): Promise<InterpreterPolicy> {
  let env: CompiledPolicyEnvelope;
  try {
    env = JSON.parse(readFileSync(path, "utf8")) as CompiledPolicyEnvelope;
  } catch (e) {
    throw inputError("policy_unreadable", `cannot read the policy: ${(e as Error).message}`, { where: path });
  }
  const { verifyEnvelope } = await import("../engine/policy/index.ts");
  const v = verifyEnvelope(env, [loadKeys().ed25519]);
  if (!v.ok) throw deniedError("policy_rejected", v.reason, { where: path, hint: "compile a fresh policy on this install, or use --agent" });
  return { ...checkAspect(v.payload.interpreter, path), zones: zonesOf(v.payload) };
}

export async function interpreterAspectForAgent(agent: string): Promise<InterpreterPolicy> {
  let mod: { compileForAgent?: (db: unknown, name: string) => CompiledPolicyEnvelope };
  try {
    mod = (await import("../engine/policy/index.ts")) as typeof mod;
  } catch (e) {
    throw internalError(`the policy compiler is not available in this build: ${(e as Error).message}`, { hint: "use --policy FILE.json with a compiled envelope" });
  }
  if (typeof mod.compileForAgent !== "function") throw internalError("the policy compiler does not export compileForAgent", { hint: "use --policy FILE.json" });
  const { openState } = await import("../engine/store/state.ts");
  const env = mod.compileForAgent(openState(), agent);
  return { ...checkAspect(env.payload.interpreter, `agent ${agent}`), zones: zonesOf(env.payload) };
}
