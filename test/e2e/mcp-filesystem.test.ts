/**
 * @modelcontextprotocol/server-filesystem behind `tappass mcp proxy --agent F` (stdio), driven
 * by the official SDK client, with an agent-level policy applied through the CLI: read tools
 * granted, write_file denied. The agent sees only what its policy allows, a read works, a write
 * is refused in words with an audit row, and a path in a forbidden zone (an SSH key, a .env
 * file inside the served directory) is refused by the forbidden_zones step.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { root, tappass } from "../helpers/cli.ts";
import { tempHome } from "../helpers/home.ts";

let home: { home: string; cleanup: () => void };
let served: string;

beforeAll(() => {
  home = tempHome();
  for (const args of [["init"], ["project", "create", "p"], ["agent", "create", "F", "--project", "p"]]) expect(tappass(args, { home: home.home }).code).toBe(0);
  const policy = join(home.home, "fs.yaml");
  writeFileSync(policy, "tools:\n  grant: [read_file, read_text_file, write_file, list_directory]\n  deny: [write_file]\n");
  const applied = tappass(["policy", "apply", "--level", "agent=F", policy, "--json"], { home: home.home });
  expect(applied.code).toBe(0);
  // outside TAPPASS_HOME, which is itself a forbidden zone (TapPass's keys and state)
  served = mkdtempSync(join(tmpdir(), "tappass-test-served-"));
  mkdirSync(join(served, "keys"), { recursive: true });
  writeFileSync(join(served, "notes.txt"), "quarterly plan: ship the broker\n");
  writeFileSync(join(served, "keys", "id_rsa"), "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----\n");
  writeFileSync(join(served, ".env"), "DB_PASSWORD=hunter2\n");
});
afterAll(() => {
  home.cleanup();
  rmSync(served, { recursive: true, force: true });
});

async function connect(): Promise<Client> {
  const t = new StdioClientTransport({
    command: process.execPath,
    args: [join(root, "src", "cli", "main.ts"), "mcp", "proxy", "--agent", "F", "--", join(root, "node_modules", ".bin", "mcp-server-filesystem"), served],
    env: { ...(process.env as Record<string, string>), TAPPASS_HOME: home.home, NO_COLOR: "1" },
    // the agent works in the served directory (its workspace): relative zones resolve there
    cwd: served,
    stderr: "pipe",
  });
  const c = new Client({ name: "fs-e2e", version: "1.0.0" });
  await c.connect(t);
  return c;
}

const textOf = (r: unknown) => ((r as { content: Array<{ text?: string }> }).content ?? []).map((b) => b.text ?? "").join("\n");

test(
  "server-filesystem behind the broker: filtered tools, read allowed, write refused with an audit row, forbidden zones refused",
  async () => {
    const c = await connect();
    try {
      const names = (await c.listTools()).tools.map((t) => t.name);
      expect(names).toContain("read_text_file");
      expect(names).toContain("list_directory");
      expect(names).not.toContain("write_file"); // denied at the agent level
      expect(names).not.toContain("move_file"); // never granted: hidden (queued for review)

      const read = await c.callTool({ name: "read_text_file", arguments: { path: join(served, "notes.txt") } });
      expect(read.isError ?? false).toBe(false);
      expect(textOf(read)).toContain("quarterly plan: ship the broker");

      const write = await c.callTool({ name: "write_file", arguments: { path: join(served, "out.txt"), content: "x" } });
      expect(write.isError).toBe(true);
      expect(textOf(write)).toContain('TapPass blocked the call to "write_file"');
      expect(existsSync(join(served, "out.txt"))).toBe(false); // never reached the server

    } finally {
      await c.close();
    }

    const audit = tappass(["audit", "tail", "--json", "--agent", "F"], { home: home.home });
    expect(audit.code).toBe(0);
    type Row = { surface: string; decision: string; meta: { tool?: string }; step_decisions: Array<{ step: string; decision: string }> };
    const rows = (audit.json.rows as Row[]).filter((r) => r.surface === "mcp");
    expect(rows.map((r) => r.meta.tool)).toEqual(["read_text_file", "write_file"]);
    expect(rows.map((r) => r.decision)).toEqual(["allow", "deny"]);
  },
  { timeout: 30_000 },
);

// The default zones `**/id_rsa*` and `**/.env` match anywhere, also inside a directory an MCP
// server serves (they were once anchored to the broker's working directory).
test(
  "server-filesystem behind the broker: a path in a forbidden zone (id_rsa, .env in the served dir) is refused by forbidden_zones",
  async () => {
    const c = await connect();
    try {
      const key = await c.callTool({ name: "read_text_file", arguments: { path: join(served, "keys", "id_rsa") } });
      expect(key.isError).toBe(true);
      expect(textOf(key)).toContain("forbidden zone");
      expect(textOf(key)).not.toContain("BEGIN OPENSSH");
      const env = await c.callTool({ name: "read_text_file", arguments: { path: join(served, ".env") } });
      expect(env.isError).toBe(true);
      expect(textOf(env)).toContain("forbidden zone");
      expect(textOf(env)).not.toContain("hunter2");
    } finally {
      await c.close();
    }
  },
  { timeout: 30_000 },
);
