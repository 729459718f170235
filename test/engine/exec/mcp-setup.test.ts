/**
 * exec's MCP setup: stdio servers run outside the sandbox from a file the agent can write, so
 * only an approved launch definition starts; a missing command is reported at start.
 */
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { startMcp } from "../../../src/engine/exec/mcp.ts";
import { initInstall } from "../../../src/engine/install.ts";
import { openState } from "../../../src/engine/store/state.ts";
import { tempHome } from "../../helpers/home.ts";

let cleanup = () => {};
afterEach(() => cleanup());

async function state() {
  const t = tempHome();
  cleanup = t.cleanup;
  await initInstall({ home: t.home });
  return { home: t.home, db: openState(t.home) };
}

const setupFor = (db: ReturnType<typeof openState>, config: Parameters<typeof startMcp>[0]["config"], cwd: string, lines: string[], approve = false) =>
  startMcp({
    config,
    // nothing below is used before an agent connects to the relay
    envelope: {} as never,
    db,
    keys: {} as never,
    agentCommand: ["tappass", "agent"],
    sessionSecret: "s".repeat(43),
    cwd,
    log: (l) => lines.push(l),
    approve,
  });

test("a stdio server whose command is not found is reported when exec starts, the others are not", async () => {
  const { db } = await state();
  const lines: string[] = [];
  // "fine2" is relative to the servers' cwd (the broker spawns it there), not to this process's
  const config = { broken: { command: "/nonexistent/mcp-server" }, fine: { command: process.execPath, args: ["--version"] }, fine2: { command: `./${basename(process.execPath)}` } };
  const setup = await setupFor(db, config, dirname(process.execPath), lines, true);
  try {
    expect(lines.filter((l) => !l.includes("approved:"))).toEqual([`tappass: MCP server "broken": command "/nonexistent/mcp-server" not found; the agent's connections to it will fail`]);
    expect(Object.keys(setup.servers).sort()).toEqual(["broken", "fine", "fine2"]);
  } finally {
    await setup.close();
  }
});

test("a stdio server starts only as approved: a new one, or one whose workspace script changed, waits for --approve-mcp", async () => {
  const { home, db } = await state();
  const ws = join(home, "ws");
  (await import("node:fs")).mkdirSync(ws);
  writeFileSync(join(ws, "server.ts"), "console.log('v1')\n");
  const config = { local: { command: process.execPath, args: ["server.ts"] } };
  const run = async (approve = false) => {
    const lines: string[] = [];
    const s = await setupFor(db, config, ws, lines, approve);
    await s.close();
    return { lines, servers: Object.keys(s.servers) };
  };
  const first = await run();
  expect(first.servers).toEqual([]);
  expect(first.lines[0]).toContain('MCP server "local"');
  expect(first.lines[0]).toContain("not started — if you trust it, run again with --approve-mcp");
  expect((await run(true)).servers).toEqual(["local"]);
  expect(await run()).toEqual({ lines: [], servers: ["local"] }); // approved: starts without a word
  // the agent edits the script the server runs (or the command in .mcp.json): approval again
  writeFileSync(join(ws, "server.ts"), "console.log('v2: something else')\n");
  expect((await run()).servers).toEqual([]);
  config.local.args = ["other.ts"];
  expect((await run()).servers).toEqual([]);
});
