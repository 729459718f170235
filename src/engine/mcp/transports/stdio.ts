/**
 * The stdio transport: the broker spawns the MCP server as a child process and speaks
 * newline-delimited JSON-RPC with it, and with its own client on stdin/stdout.
 */
import { basename } from "node:path";
import { inputError } from "../../errors.ts";
import type { Broker } from "../broker.ts";
import { errorResponse, type JsonRpcMessage, PARSE_ERROR, parseFrame } from "../jsonrpc.ts";
import type { Channel, ClientPeer } from "../types.ts";
import { type ByteSink, type ByteSource, readLines } from "./lines.ts";

const LAUNCHERS = new Set(["npx", "node", "bun", "bunx", "uvx", "uv", "python", "python3", "deno", "pnpm", "yarn", "npm", "docker"]);

/** A readable name for a stdio server from its command line (`npx -y @scope/server-foo` → server-foo). */
export function serverNameOf(command: string[]): string {
  const head = basename(command[0] ?? "server");
  let name = head;
  if (LAUNCHERS.has(head.replace(/\.(exe|cmd)$/, ""))) {
    const arg = command.slice(1).find((a) => !a.startsWith("-") && !["run", "exec", "dlx", "x"].includes(a));
    if (arg) name = arg;
  }
  return basename(name.replace(/^@[^/]+\//, "")).replace(/\.(m?[jt]s|py)$/, "").replace(/@[^@]*$/, "") || "server";
}

export class ChildChannel implements Channel {
  era: Channel["era"] = "unknown";
  identity: Channel["identity"];
  onmessage: Channel["onmessage"] = () => {};
  onclose?: (reason: string) => void;
  readonly exited: Promise<number>;
  private readonly proc: ReturnType<typeof Bun.spawn>;
  private closed = false;

  constructor(
    readonly command: string[],
    readonly server: string,
    opts: { env?: Record<string, string | undefined>; cwd?: string; log?: (line: string) => void } = {},
  ) {
    const log = opts.log ?? (() => {});
    try {
      this.proc = Bun.spawn(command, { stdin: "pipe", stdout: "pipe", stderr: "inherit", env: opts.env ?? process.env, cwd: opts.cwd });
    } catch (e) {
      // a server command that cannot start is the configuration's mistake, not TapPass's
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === "ENOENT" ? "no such program" : code === "EACCES" || code === "ENOEXEC" ? "not an executable program" : (e as Error).message;
      throw inputError("mcp_server_spawn_failed", `cannot start the MCP server "${server}" (${command.join(" ")}): ${why}`, {
        hint: "check the server's command (on PATH, or a full path to an executable)",
      });
    }
    this.exited = this.proc.exited.then((code) => {
      this.closed = true;
      this.onclose?.(`exited with code ${code}`);
      return code;
    });
    void readLines(this.proc.stdout as ReadableStream<Uint8Array>, (line) => {
      const { messages, error } = parseFrame(line);
      if (error) {
        log(`mcp broker: ${server} wrote a line that is not JSON-RPC (${error}); ignored`);
        return;
      }
      for (const m of messages) this.onmessage(m);
    });
  }

  send(msg: JsonRpcMessage): void {
    if (this.closed) return;
    const sink = this.proc.stdin as import("bun").FileSink;
    sink.write(`${JSON.stringify(msg)}\n`);
    sink.flush();
  }

  /** Close the server's stdin; give it a moment to exit, then terminate it. */
  async close(graceMs = 2000): Promise<void> {
    if (this.closed) return;
    try {
      (this.proc.stdin as import("bun").FileSink).end();
    } catch {}
    const t = setTimeout(() => this.proc.kill("SIGTERM"), graceMs);
    await this.exited;
    clearTimeout(t);
  }
}

export interface StdioServeOptions {
  broker: Broker;
  channel: ChildChannel;
  stdin: ByteSource;
  stdout: ByteSink;
  log?: (line: string) => void;
  /** The client's audit session (default: this connection's own id). */
  sessionId?: string;
}

/** Serve one client on stdin/stdout until either side ends; resolves with the server's exit code. */
export async function serveStdio(o: StdioServeOptions): Promise<number> {
  const peer: ClientPeer = {
    id: o.sessionId ?? `stdio-${process.pid}-${Date.now().toString(36)}`,
    channel: o.channel,
    send: (msg) => {
      o.stdout.write(`${JSON.stringify(msg)}\n`);
    },
  };
  o.broker.attach(peer);
  o.channel.onclose = (reason) => o.broker.channelClosed(o.channel, reason);
  const clientDone = readLines(o.stdin, (line) => {
    const { messages, error, code, id } = parseFrame(line);
    if (error) {
      peer.send(errorResponse(id ?? null, code ?? PARSE_ERROR, error));
      return;
    }
    for (const m of messages) o.broker.fromClient(peer, m);
  }).then(
    () => "client",
    (e) => {
      o.log?.(`mcp broker: reading stdin failed: ${(e as Error).message}`);
      return "client";
    },
  );
  const first = await Promise.race([clientDone, o.channel.exited.then(() => "server")]);
  if (first === "client") {
    // the client's input ended: answer what it asked (unless the server goes first), then stop it
    await Promise.race([o.broker.settled(peer), o.channel.exited]);
    await o.channel.close();
  }
  o.broker.detach(peer);
  return await o.channel.exited;
}
