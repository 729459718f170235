/**
 * `tappass render`: write one provider's native config for an agent into a directory, for
 * harnesses run outside `tappass exec` (a CI image, a managed-settings rollout, …).
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { selfCommand } from "../../cli/self.ts";
import { providers } from "../../providers/index.ts";
import { inputError } from "../errors.ts";
import { openState } from "../store/state.ts";

export async function renderForAgent(opts: { agent: string; target: string; out: string; gatewayUrl?: string; workspace?: string; agentCommand?: string[] }) {
  const p = providers[opts.target];
  if (!p) throw inputError("unknown_target", `unknown render target "${opts.target}"`, { hint: `one of: ${Object.keys(providers).join(", ")}` });
  const { compileForAgent } = await import("../policy/index.ts");
  const envelope = compileForAgent(openState(), opts.agent);
  const files = p.render(envelope.payload, {
    agentCommand: opts.agentCommand ?? [...selfCommand(), "agent"],
    gatewayUrl: opts.gatewayUrl,
    workspace: resolve(opts.workspace ?? process.cwd()),
    home: process.env.HOME ?? homedir(),
  });
  const written: string[] = [];
  for (const f of files) {
    const path = join(resolve(opts.out), f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.content);
    if (f.mode) chmodSync(path, f.mode);
    written.push(path);
  }
  return { agent: opts.agent, target: opts.target, policy_version: envelope.payload.policy_version, files: written };
}
