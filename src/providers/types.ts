/**
 * Providers are pure: render(compiledPolicy, capabilities) → files. Writing them is the
 * caller's job (exec writes them into a private directory). Golden files pin the output.
 */
import type { CompiledPolicyPayload } from "../engine/policy/types.ts";

export interface RenderCapabilities {
  /** argv prefix that runs TapPass (agent persona commands are appended), e.g. ["/usr/bin/tappass-agent"]. */
  agentCommand: string[];
  /** The local LLM gateway, when one runs (e.g. "http://127.0.0.1:41234"). */
  gatewayUrl?: string;
  /** The hook governor the harness's hooks call (TAPPASS_HOOK_URL), when one runs. */
  hookUrl?: string;
  /** MCP servers the agent may use, already wrapped by the broker (command/args or url). */
  mcpServers?: Record<string, { command: string; args: string[] } | { url: string }>;
  /** Absolute workspace directory (where the agent works). */
  workspace: string;
  /** Home directory of the agent's user (for ~ in rules). */
  home: string;
  /** True when TapPass's kernel ring confines the harness (its own sandbox is then redundant). */
  kernelRing?: boolean;
  /**
   * Environment a harness must hand its hooks explicitly (Gemini CLI strips variables named like
   * secrets, TAPPASS_TOKEN among them, from a hook's environment on CI and when asked to).
   */
  hookEnv?: Record<string, string>;
  /** Hook timeout in seconds (fail closed after it). */
  hookTimeoutSeconds?: number;
}

export interface RenderedFile {
  /** Path relative to the render directory. */
  path: string;
  content: string;
  mode?: number;
}

export interface Provider {
  id: string;
  description: string;
  render(policy: CompiledPolicyPayload, caps: RenderCapabilities): RenderedFile[];
}
