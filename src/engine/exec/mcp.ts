/**
 * MCP servers under `tappass exec`: every server the agent is configured with goes through the
 * broker, which runs on the governor's side of the kernel ring (it writes audit rows; the agent
 * cannot). Sources: the project's `.mcp.json` (Claude Code's format) and `--mcp-config FILE`.
 *  - HTTP servers: one Streamable HTTP broker each, on an ephemeral loopback port bridged into
 *    the sandbox.
 *  - stdio servers: the agent's harness starts `tappass-agent mcp-relay NAME`, which relays
 *    stdio over TCP to the governor; there the broker spawns the real server and governs it.
 */
import { existsSync, readFileSync } from "node:fs";
import type { Server, Socket } from "node:net";
import { join, resolve } from "node:path";
import type { AuditRow } from "../audit/types.ts";
import type { Keys } from "../crypto/keys.ts";
import { inputError } from "../errors.ts";
import type { CompiledPolicyEnvelope } from "../policy/types.ts";
import type { Db } from "../store/db.ts";
import { resolveCommand } from "./prelaunch.ts";

export type McpServerConfig = { command: string; args?: string[]; env?: Record<string, string> } | { type?: "http" | "streamable-http"; url: string };

/** Read `mcpServers` from .mcp.json-style files; later files win per server name. */
export function loadMcpConfig(files: string[]): Record<string, McpServerConfig> {
  const out: Record<string, McpServerConfig> = {};
  for (const f of files) {
    if (!existsSync(f)) continue;
    let doc: { mcpServers?: Record<string, McpServerConfig> };
    try {
      doc = JSON.parse(readFileSync(f, "utf8"));
    } catch (e) {
      throw inputError("mcp_config_invalid", `${f} is not valid JSON: ${(e as Error).message}`, { where: f, hint: "fix the file or pass --mcp-config with a valid one" });
    }
    for (const [name, s] of Object.entries(doc.mcpServers ?? {})) {
      if (!s || (typeof (s as { command?: unknown }).command !== "string" && typeof (s as { url?: unknown }).url !== "string")) {
        throw inputError("mcp_config_invalid", `MCP server "${name}" in ${f} has neither "command" nor "url"`, { where: f });
      }
      out[name] = s;
    }
  }
  return out;
}

export const projectMcpFiles = (cwd: string, extra?: string) => [join(cwd, ".mcp.json"), ...(extra ? [extra] : [])];

export interface McpSetup {
  /** For the renderers: how the agent reaches each server (relay command or broker URL). */
  servers: Record<string, { command: string; args: string[] } | { url: string }>;
  /** Host loopback ports to bridge into the sandbox. */
  ports: number[];
  /** env for the agent (relay address). */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startMcp(opts: {
  config: Record<string, McpServerConfig>;
  envelope: CompiledPolicyEnvelope;
  db: Db;
  keys: Keys;
  agentCommand: string[];
  sessionSecret: string;
  cwd: string;
  log: (line: string) => void;
  /** Approve stdio servers that are new or changed (the operator's --approve-mcp). */
  approve?: boolean;
  /** exec's session: the agent's MCP calls are audited under it. */
  sessionId?: string;
  /** Every audit row the brokers write (exec's summary). */
  onRow?: (row: AuditRow) => void;
}): Promise<McpSetup> {
  const names = Object.keys(opts.config);
  const setup: McpSetup = { servers: {}, ports: [], env: {}, close: async () => {} };
  if (names.length === 0) return setup;
  const mcp = await import("../mcp/index.ts");
  const closers: Array<() => Promise<void>> = [];
  const stdio: Record<string, { command: string; args?: string[]; env?: Record<string, string> }> = {};
  for (const name of names) {
    const s = opts.config[name] as McpServerConfig;
    if ("url" in s) {
      const b = await mcp.startHttpBroker({ envelope: opts.envelope, db: opts.db, keys: opts.keys, upstream: s.url, port: 0, server: name, selfToken: true, log: opts.log, onRow: opts.onRow });
      closers.push(() => b.close());
      setup.servers[name] = { url: b.url };
      setup.ports.push(b.port);
    } else {
      // it would run outside the sandbox, from a file the agent can write: only as approved
      // (mcp-approval.ts loads node:crypto: only for a run that has a stdio server)
      const { approve, isApproved, launchDefinition } = await import("./mcp-approval.ts");
      const d = launchDefinition(name, s, opts.cwd);
      if (!isApproved(opts.db, d)) {
        const shown = [s.command, ...(s.args ?? [])].join(" ");
        if (!opts.approve) {
          opts.log(`tappass: MCP server "${name}" (${shown}) is new or has changed since it was approved; it would run outside the sandbox, so it is not started — if you trust it, run again with --approve-mcp`);
          continue;
        }
        approve(opts.db, d);
        opts.log(`tappass: MCP server "${name}" approved: ${shown}`);
      }
      // said now, not only when the agent first connects and the server cannot start
      // (a relative path is the server's own cwd's, as the broker spawns it there)
      if (!resolveCommand(s.command.includes("/") ? resolve(opts.cwd, s.command) : s.command, s.env?.PATH ?? process.env.PATH)) opts.log(`tappass: MCP server "${name}": command "${s.command}" not found; the agent's connections to it will fail`);
      stdio[name] = s;
      setup.servers[name] = { command: opts.agentCommand[0] as string, args: [...opts.agentCommand.slice(1), "mcp-relay", name] };
    }
  }
  if (Object.keys(stdio).length > 0) {
    const relay = await startRelay({ ...opts, stdio, mcp });
    closers.push(relay.close);
    setup.ports.push(relay.port);
    setup.env.TAPPASS_MCP_RELAY = `127.0.0.1:${relay.port}`;
  }
  // once: exec closes the brokers when the command has exited, and again on its way out
  let closed: Promise<void> | undefined;
  setup.close = () =>
    (closed ??= Promise.allSettled(closers.map((c) => c())).then(() => {}));
  return setup;
}

/** The governor end of the stdio relay: one governed server process per agent connection. */
async function startRelay(o: {
  stdio: Record<string, { command: string; args?: string[]; env?: Record<string, string> }>;
  mcp: typeof import("../mcp/index.ts");
  envelope: CompiledPolicyEnvelope;
  db: Db;
  keys: Keys;
  sessionSecret: string;
  cwd: string;
  log: (line: string) => void;
  sessionId?: string;
  onRow?: (row: AuditRow) => void;
}): Promise<{ port: number; close(): Promise<void> }> {
  // node:crypto, node:net and node:stream only here: their first import is slow (~2–3 ms each, on
  // exec's critical path), and most runs have no stdio MCP server.
  const [{ timingSafeEqual }, { createServer }, { PassThrough }] = await Promise.all([import("node:crypto"), import("node:net"), import("node:stream")]);
  const sockets = new Set<Socket>();
  const running = new Set<Promise<unknown>>();
  const secret = Buffer.from(o.sessionSecret);
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    let head = "";
    const onData = (chunk: Buffer) => {
      head += chunk.toString("utf8");
      const nl = head.indexOf("\n");
      if (nl < 0) {
        if (head.length > 4096) sock.destroy();
        return;
      }
      sock.off("data", onData);
      const [magic, name, presented] = head.slice(0, nl).trim().split(" ");
      const rest = head.slice(nl + 1);
      const ok = magic === "TAPPASS-MCP/1" && presented !== undefined && Buffer.from(presented).length === secret.length && timingSafeEqual(Buffer.from(presented), secret);
      const target = name ? o.stdio[name] : undefined;
      if (!ok || !target) {
        sock.end(`${JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32001, message: ok ? `TapPass: unknown MCP server "${name}"` : "TapPass: relay refused (bad session secret)" } })}\n`);
        return;
      }
      // The broker reads client EOF as "stop the server": a socket that is destroyed (the agent's
      // sandbox went away) never emits 'end', so feed it a stream that ends on 'close' too.
      const fromAgent = new PassThrough();
      if (rest) fromAgent.write(rest);
      sock.pipe(fromAgent);
      sock.on("close", () => fromAgent.end());
      sock.on("error", () => fromAgent.end());
      const served = o.mcp
        .runStdioBroker({
          envelope: o.envelope,
          db: o.db,
          keys: o.keys,
          server: name,
          command: [target.command, ...(target.args ?? [])],
          env: { ...process.env, ...(target.env ?? {}) },
          cwd: o.cwd,
          stdin: fromAgent,
          stdout: sock,
          log: o.log,
          sessionId: o.sessionId,
          onRow: o.onRow,
        })
        .catch((e) => o.log(`tappass: MCP server ${name}: ${(e as Error).message}`))
        .finally(() => {
          sock.end();
          running.delete(served);
        });
      running.add(served);
    };
    sock.on("data", onData);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      // Let the brokers stop their servers (stdin closed, then SIGTERM after a grace period).
      await Promise.race([Promise.allSettled([...running]), new Promise((r) => setTimeout(r, 5000))]);
    },
  };
}
