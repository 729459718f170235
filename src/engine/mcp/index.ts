/**
 * The MCP broker's library API (used by `tappass mcp proxy` and `tappass exec`):
 *
 *   const b = await startHttpBroker({ envelope, db, keys, upstream: "http://127.0.0.1:3001/mcp" });
 *   // point the agent at b.url; later: await b.close()
 *
 *   const code = await runStdioBroker({ envelope, db, keys, command: ["npx", "server"], stdin, stdout });
 *
 * Both govern every tools/list and tools/call with the one pipeline built from the signed
 * Compiled Policy envelope; a bad or expired envelope fails in createPipeline (closed).
 */
import type { AuditRow } from "../audit/types.ts";
import type { Keys } from "../crypto/keys.ts";
import type { Pipeline } from "../pipeline/types.ts";
import type { CompiledPolicyEnvelope } from "../policy/types.ts";
import type { Db } from "../store/db.ts";
import { Broker } from "./broker.ts";
import { createGovernor } from "./govern.ts";
import { serverByUrl } from "./registry.ts";
import { serveHttp, type HttpBrokerHandle } from "./transports/http.ts";
import type { ByteSink, ByteSource } from "./transports/lines.ts";
import { ChildChannel, serverNameOf, serveStdio } from "./transports/stdio.ts";
import { assertLoopbackUrl } from "./transports/upstream-http.ts";

export interface BrokerBase {
  envelope: CompiledPolicyEnvelope;
  db: Db;
  keys: Keys;
  /** Server name for policy/discovery/audit (default: registered name, or derived from the command / URL). */
  server?: string;
  log?: (line: string) => void;
  /** Capability token used for calls whose client presents none. */
  token?: string;
  /** Mint the broker's own short-lived token for the policy's agent when none is given (default: stdio yes, HTTP no). */
  selfToken?: boolean;
  /** Every audit row the broker writes, once committed (exec's summary). */
  onRow?: (row: AuditRow) => void;
}

/** The token for calls without one: the given one, else (when allowed) one the broker mints and renews. */
function tokenSource(o: BrokerBase, pipeline: Pipeline, selfDefault: boolean): ((session_id: string) => Promise<string | undefined>) | undefined {
  if (o.token) return async () => o.token;
  if (!(o.selfToken ?? selfDefault)) return undefined;
  const cached = new Map<string, { token: string; until: number }>();
  return async (session_id) => {
    const hit = cached.get(session_id);
    if (hit && hit.until > Date.now()) return hit.token;
    const { issueToken } = await import("../crypto/tokens.ts");
    const p = pipeline.policy;
    const token = await issueToken(o.keys, { agent: p.agent, session_id, sandbox_id: p.sandbox_id, policy_version: p.policy_version, ttlSeconds: 300 });
    cached.set(session_id, { token, until: Date.now() + 240_000 });
    return token;
  };
}

async function pipelineFor(o: BrokerBase): Promise<Pipeline> {
  const { createPipeline } = await import("../pipeline/index.ts");
  return createPipeline({ envelope: o.envelope, db: o.db, keys: o.keys });
}

const stderrLog = (line: string) => process.stderr.write(`${line}\n`);

export async function startHttpBroker(o: BrokerBase & { upstream: string; port?: number }): Promise<HttpBrokerHandle> {
  const url = assertLoopbackUrl(o.upstream);
  const pipeline = await pipelineFor(o);
  const log = o.log ?? stderrLog;
  const governor = createGovernor({ pipeline, db: o.db, log, token: tokenSource(o, pipeline, false), upstream: url.toString(), onRow: o.onRow });
  const broker = new Broker({ governor, log });
  const server = o.server ?? serverByUrl(o.db, o.upstream)?.name ?? `${url.hostname}:${url.port || (url.protocol === "https:" ? 443 : 80)}`;
  const h = serveHttp({ broker, upstream: url.toString(), server, port: o.port, log });
  return {
    ...h,
    async close() {
      await h.close();
      await governor.flush();
    },
  };
}

const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;

export async function runStdioBroker(
  o: BrokerBase & {
    command: string[];
    stdin: ByteSource;
    stdout: ByteSink;
    env?: Record<string, string | undefined>;
    cwd?: string;
    /** The audit session of the client's calls (default: one of the broker's own, per client). */
    sessionId?: string;
    /**
     * On SIGINT/SIGTERM/SIGHUP stop the server, flush the audit rows and exit this process
     * (default: when the broker serves this process's own stdin, i.e. it is the process's job).
     * Clients such as the SDK's stdio transport end the broker with SIGTERM; without this the
     * server would be orphaned, holding the client's stderr open.
     */
    signals?: boolean;
  },
): Promise<number> {
  if (o.command.length === 0) throw new Error("runStdioBroker needs the MCP server's command");
  const pipeline = await pipelineFor(o);
  const log = o.log ?? stderrLog;
  const governor = createGovernor({ pipeline, db: o.db, log, token: tokenSource(o, pipeline, true), onRow: o.onRow });
  const broker = new Broker({ governor, log });
  const channel = new ChildChannel(o.command, o.server ?? serverNameOf(o.command), { env: o.env, cwd: o.cwd, log });
  broker.bind(channel);
  const handlers: Array<[NodeJS.Signals, () => void]> = [];
  if (o.signals ?? o.stdin === process.stdin) {
    for (const [sig, n] of Object.entries(SIGNALS) as Array<[NodeJS.Signals, number]>) {
      const h = () => {
        void channel
          .close(300)
          .then(() => governor.flush())
          .finally(() => process.exit(128 + n));
      };
      process.once(sig, h);
      handlers.push([sig, h]);
    }
  }
  try {
    const code = await serveStdio({ broker, channel, stdin: o.stdin, stdout: o.stdout, log, sessionId: o.sessionId });
    await governor.flush();
    return code;
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
  }
}

export { Broker } from "./broker.ts";
export { createGovernor } from "./govern.ts";
export { ToolStore, toolHash } from "./discovery.ts";
export { registerServer, listServers } from "./registry.ts";
export type { HttpBrokerHandle } from "./transports/http.ts";
