/**
 * The egress proxy: the only way out of the sandbox's network namespace. Speaks HTTP CONNECT
 * (HTTPS and any TLS) and plain-HTTP forwarding (absolute-form requests), on a unix socket
 * (bridged into the namespace) and/or a loopback TCP port. Every attempt, allowed or not,
 * is reported through `onEvent` so the caller can audit it.
 *
 * Decision order: malformed → deny; deny_domains → deny; egress "deny" → deny; "allowlist"
 * and not in allow_domains → deny; port not allowed → deny; the name resolves to a loopback,
 * private, link-local or metadata address → deny (unless allowPrivate); else connect to the
 * address that was checked (no second lookup, so no DNS rebinding between check and use).
 */
import { lookup } from "node:dns/promises";
import { isIP, createServer, connect, type Server, type Socket } from "node:net";
import { rmSync } from "node:fs";

export interface EgressPolicy {
  mode: "deny" | "allowlist" | "open";
  /** "example.com", "*.example.com" (subdomains only), optionally with ":port". */
  allow_domains: string[];
  deny_domains: string[];
  /** Ports allowed for any allowed host (default 80 and 443); "host:port" entries add more. */
  allow_ports?: number[];
}

export interface EgressEvent {
  ts: string;
  method: string;
  host: string;
  port: number;
  allowed: boolean;
  reason: string;
  /** The address connected to (or that caused a deny). */
  address?: string;
}

export interface EgressProxyOptions {
  policy: EgressPolicy;
  onEvent?: (e: EgressEvent) => void;
  /** Name resolution (inject in tests); default: the system resolver. */
  resolve?: (host: string) => Promise<string[]>;
  /** Allow destinations on loopback/private addresses (tests). Default false. */
  allowPrivate?: boolean;
  unixPath?: string;
  /** Loopback TCP port (0 = any free port). */
  port?: number;
  connectTimeoutMs?: number;
}

export interface EgressProxy {
  port?: number;
  unixPath?: string;
  close(): Promise<void>;
}

const normHost = (h: string) => h.trim().toLowerCase().replace(/\.$/, "").replace(/^\[(.*)\]$/, "$1");

/** Does `host:port` match a pattern ("a.com", "*.a.com", "a.com:8443", "*")? */
export function matchDomain(pattern: string, host: string, port: number): { match: boolean; explicitPort: boolean } {
  let p = pattern.trim().toLowerCase();
  let pPort: number | null = null;
  const m = /^(.*):(\d+)$/.exec(p);
  if (m && !p.includes("]") && (m[1] ?? "").indexOf(":") === -1) {
    p = m[1] ?? "";
    pPort = Number(m[2]);
  }
  p = normHost(p);
  if (pPort !== null && pPort !== port) return { match: false, explicitPort: false };
  const h = normHost(host);
  let ok = false;
  if (p === "*") ok = true;
  else if (p.startsWith("*.")) ok = h.endsWith(p.slice(1)) && h.length > p.length - 1;
  else ok = h === p;
  return { match: ok, explicitPort: ok && pPort !== null };
}

/** The policy decision for a destination, before name resolution. */
export function decide(policy: EgressPolicy, host: string, port: number): { allowed: boolean; reason: string } {
  const h = normHost(host);
  if (!h || !Number.isInteger(port) || port < 1 || port > 65535) return { allowed: false, reason: "malformed destination" };
  for (const d of policy.deny_domains) if (matchDomain(d, h, port).match) return { allowed: false, reason: `denied by network.deny_domains (${d})` };
  if (policy.mode === "deny") return { allowed: false, reason: "network.egress is deny" };
  let explicitPort = false;
  if (policy.mode === "allowlist") {
    const hit = policy.allow_domains.map((d) => ({ d, ...matchDomain(d, h, port) })).find((x) => x.match);
    if (!hit) return { allowed: false, reason: "not in network.allow_domains" };
    explicitPort = hit.explicitPort;
  }
  const ports = policy.allow_ports ?? [80, 443];
  if (!explicitPort && !ports.includes(port)) return { allowed: false, reason: `port ${port} not allowed` };
  return { allowed: true, reason: policy.mode === "open" ? "network.egress is open" : "in network.allow_domains" };
}

/** Loopback, private, link-local, CGNAT, multicast, reserved and metadata addresses. */
export function isNonPublicAddress(addr: string): boolean {
  const v = isIP(addr);
  if (v === 4) {
    const [a = 0, b = 0] = addr.split(".").map(Number);
    return a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b < 128) || (a === 169 && b === 254) || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) || (a === 192 && b === 0) || (a === 198 && (b === 18 || b === 19)) || a >= 224;
  }
  if (v === 6) {
    const x = addr.toLowerCase();
    if (x === "::" || x === "::1") return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(x);
    if (mapped?.[1]) return isNonPublicAddress(mapped[1]);
    return /^(fc|fd|fe[89ab]|ff)/.test(x) || x.startsWith("64:ff9b:") || x.startsWith("2001:db8:");
  }
  return true;
}

const defaultResolve = async (host: string) => (await lookup(host, { all: true })).map((r) => r.address);

const HEAD_LIMIT = 64 * 1024;

function reply(sock: Socket, status: string, reason: string): void {
  const body = `tappass: ${reason}\n`;
  sock.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\nX-TapPass-Decision: deny\r\n\r\n${body}`);
}

/** Start the proxy. Resolves once it listens. */
export async function startEgressProxy(opts: EgressProxyOptions): Promise<EgressProxy> {
  const resolveHost = opts.resolve ?? defaultResolve;
  const emit = (e: Omit<EgressEvent, "ts">) => {
    try {
      opts.onEvent?.({ ts: new Date().toISOString(), ...e });
    } catch {
      // an auditing callback that throws must not take the proxy down
    }
  };

  async function check(method: string, host: string, port: number): Promise<{ ok: true; address: string } | { ok: false; status: string; reason: string }> {
    const d = decide(opts.policy, host, port);
    if (!d.allowed) {
      emit({ method, host: normHost(host), port, allowed: false, reason: d.reason });
      return { ok: false, status: "403 Forbidden", reason: `egress to ${host}:${port} denied: ${d.reason}` };
    }
    let addrs: string[];
    try {
      addrs = isIP(normHost(host)) ? [normHost(host)] : await resolveHost(normHost(host));
    } catch (e) {
      emit({ method, host: normHost(host), port, allowed: false, reason: `name resolution failed: ${(e as Error).message}` });
      return { ok: false, status: "502 Bad Gateway", reason: `cannot resolve ${host}` };
    }
    const address = addrs[0];
    const bad = addrs.find((a) => isNonPublicAddress(a));
    if (!address || (bad && !opts.allowPrivate)) {
      const reason = address ? `resolves to a non-public address (${bad})` : "no address";
      emit({ method, host: normHost(host), port, allowed: false, reason, address: bad });
      return { ok: false, status: "403 Forbidden", reason: `egress to ${host}:${port} denied: ${reason}` };
    }
    emit({ method, host: normHost(host), port, allowed: true, reason: d.reason, address });
    return { ok: true, address };
  }

  function upstream(address: string, port: number, client: Socket, onReady: (up: Socket) => void): void {
    const up = connect({ host: address, port });
    const timer = setTimeout(() => up.destroy(new Error("connect timeout")), opts.connectTimeoutMs ?? 15000);
    up.once("connect", () => {
      clearTimeout(timer);
      onReady(up);
      up.pipe(client);
      client.pipe(up);
    });
    up.on("error", () => {
      clearTimeout(timer);
      if (!client.destroyed) reply(client, "502 Bad Gateway", `cannot connect to ${address}:${port}`);
      up.destroy();
    });
    client.on("error", () => up.destroy());
    client.on("close", () => up.destroy());
    up.on("close", () => client.destroy());
  }

  async function handle(client: Socket, head: Buffer, rest: Buffer): Promise<void> {
    const text = head.toString("latin1");
    const lines = text.split("\r\n");
    const [method = "", target = "", version = "HTTP/1.1"] = (lines[0] ?? "").split(" ");
    if (method === "CONNECT") {
      const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(target);
      if (!m) {
        emit({ method, host: target, port: 0, allowed: false, reason: "malformed CONNECT target" });
        return reply(client, "400 Bad Request", "malformed CONNECT target");
      }
      const host = m[1] ?? "";
      const port = Number(m[2]);
      const r = await check(method, host, port);
      if (!r.ok) return reply(client, r.status, r.reason);
      upstream(r.address, port, client, (up) => {
        client.write(`${version} 200 Connection Established\r\n\r\n`);
        if (rest.length) up.write(rest);
      });
      return;
    }
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      emit({ method, host: "", port: 0, allowed: false, reason: "not a proxy request (origin-form target)" });
      return reply(client, "400 Bad Request", "use this address as an HTTP proxy (absolute URL or CONNECT)");
    }
    if (url.protocol !== "http:") {
      emit({ method, host: url.hostname, port: Number(url.port) || 443, allowed: false, reason: `unsupported scheme ${url.protocol}` });
      return reply(client, "400 Bad Request", "only http:// is forwarded; use CONNECT for https");
    }
    const port = Number(url.port) || 80;
    const r = await check(method, url.hostname, port);
    if (!r.ok) return reply(client, r.status, r.reason);
    const headers = lines.slice(1).filter((l) => l && !/^(proxy-connection|proxy-authorization|connection|keep-alive)\s*:/i.test(l));
    const out = `${method} ${url.pathname}${url.search} ${version}\r\n${headers.join("\r\n")}\r\nConnection: close\r\n\r\n`;
    upstream(r.address, port, client, (up) => {
      up.write(out);
      if (rest.length) up.write(rest);
    });
  }

  const live = new Set<Socket>();
  const onConnection = (client: Socket) => {
    live.add(client);
    client.on("close", () => live.delete(client));
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf("\r\n\r\n");
      if (end === -1) {
        if (buf.length > HEAD_LIMIT) {
          client.removeListener("data", onData);
          reply(client, "431 Request Header Fields Too Large", "request head too large");
        }
        return;
      }
      client.removeListener("data", onData);
      client.pause();
      const head = buf.subarray(0, end);
      const rest = buf.subarray(end + 4);
      handle(client, head, rest)
        .catch(() => reply(client, "500 Internal Server Error", "proxy error"))
        .finally(() => client.resume());
    };
    client.on("data", onData);
    client.on("error", () => client.destroy());
  };

  const servers: Server[] = [];
  const listen = (s: Server, arg: { path: string } | { port: number; host: string }) =>
    new Promise<void>((res, rej) => {
      s.once("error", rej);
      s.listen(arg, () => res());
    });
  const out: EgressProxy = { close: async () => {} };
  if (opts.unixPath) {
    rmSync(opts.unixPath, { force: true });
    const s = createServer(onConnection);
    await listen(s, { path: opts.unixPath });
    servers.push(s);
    out.unixPath = opts.unixPath;
  }
  if (opts.port !== undefined) {
    const s = createServer(onConnection);
    await listen(s, { port: opts.port, host: "127.0.0.1" });
    servers.push(s);
    const a = s.address();
    out.port = typeof a === "object" && a ? a.port : opts.port;
  }
  if (servers.length === 0) throw new Error("egress proxy: give unixPath and/or port");
  out.close = async () => {
    for (const c of live) c.destroy();
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    if (opts.unixPath) rmSync(opts.unixPath, { force: true });
  };
  return out;
}
