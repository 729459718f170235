/** exec's MCP setup: a .mcp.json stdio server whose command is missing is reported at start. */
import { expect, test } from "bun:test";
import { basename, dirname } from "node:path";
import { startMcp } from "../../../src/engine/exec/mcp.ts";

test("a stdio server whose command is not found is reported when exec starts, the others are not", async () => {
  const lines: string[] = [];
  const setup = await startMcp({
    // "fine2" is relative to the servers' cwd (the broker spawns it there), not to this process's
    config: { broken: { command: "/nonexistent/mcp-server" }, fine: { command: process.execPath, args: ["--version"] }, fine2: { command: `./${basename(process.execPath)}` } },
    // nothing below is used before an agent connects to the relay
    envelope: {} as never,
    db: {} as never,
    keys: {} as never,
    agentCommand: ["tappass", "agent"],
    sessionSecret: "s".repeat(43),
    cwd: dirname(process.execPath),
    log: (l) => lines.push(l),
  });
  try {
    expect(lines).toEqual([`tappass: MCP server "broken": command "/nonexistent/mcp-server" not found; the agent's connections to it will fail`]);
    expect(Object.keys(setup.servers).sort()).toEqual(["broken", "fine", "fine2"]);
  } finally {
    await setup.close();
  }
});
