/**
 * One binary, three personas, chosen by the invoked name (ARCHITECTURE.md):
 *  - tappass        operator: every command
 *  - tappass-host   host owner: `host …` commands (reached without the `host` prefix)
 *  - tappass-agent  the agent: READ-ONLY `agent` commands only — no upward channel
 * `tappass host …` and `tappass agent …` reach the same commands from the operator binary.
 */
export type Persona = "operator" | "host" | "agent";

/** Commands the agent persona may run: read-only, nothing that writes policy, keys or state. */
export const AGENT_COMMANDS = new Set(["agent:whoami", "agent:policy", "agent:watch", "agent:token", "agent:mcp-relay", "agent:hook:claude-code", "agent:hook:gemini"]);

export function personaOf(invoked: string): Persona {
  if (invoked === "tappass-host" || invoked.startsWith("tappass-host")) return "host";
  if (invoked === "tappass-agent" || invoked.startsWith("tappass-agent")) return "agent";
  return "operator";
}

/** The command ids a persona can see, from the full index. */
export function commandsFor<T>(persona: Persona, all: Record<string, T>): Record<string, T> {
  if (persona === "operator") return all;
  const keep = (id: string) => (persona === "agent" ? AGENT_COMMANDS.has(id) : id.startsWith("host:"));
  return Object.fromEntries(Object.entries(all).filter(([id]) => keep(id)));
}

/** Rewrite argv so `tappass-agent whoami` runs `agent whoami`. Flags like --version/--help pass through. */
export function personaArgv(persona: Persona, argv: string[]): string[] {
  if (persona === "operator") return argv;
  const topic = persona === "agent" ? "agent" : "host";
  if (argv.length === 0) return [topic, "--help"];
  const first = argv[0] as string;
  if (first === "--version" || first === "-v" || first === "version") return argv;
  // The persona's own commands (the table is already filtered to them).
  if (first === "--help" || first === "-h" || first === "help") return [topic, "--help"];
  if (first === topic) return argv;
  return [topic, ...argv];
}
