/** The egress proxy on its own: matching, decisions, CONNECT and plain-HTTP forwarding, audit events. Loopback only. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, createServer, type Server } from "node:net";
import { decide, isNonPublicAddress, matchDomain, startEgressProxy, type EgressEvent, type EgressProxy } from "../../src/sandbox/egress-proxy.ts";

let web: Server;
let webPort = 0;
let proxy: EgressProxy;
let strict: EgressProxy;
const events: EgressEvent[] = [];
const hosts: Record<string, string> = { "allowed.test": "127.0.0.1", "api.wild.test": "127.0.0.1", "other.test": "127.0.0.1" };
const resolve = async (h: string) => {
  const a = hosts[h];
  if (!a) throw new Error(`ENOTFOUND ${h}`);
  return [a];
};

beforeAll(async () => {
  web = createServer((c) =>
    c.once("data", (d) => {
      const line = d.toString().split("\r\n")[0];
      c.end(`HTTP/1.1 200 OK\r\nContent-Length: ${line?.length}\r\nConnection: close\r\n\r\n${line}`);
    }),
  );
  await new Promise<void>((r) => web.listen(0, "127.0.0.1", () => r()));
  webPort = (web.address() as { port: number }).port;
  const policy = { mode: "allowlist" as const, allow_domains: ["allowed.test", "*.wild.test"], deny_domains: ["bad.wild.test"], allow_ports: [webPort] };
  proxy = await startEgressProxy({ policy, port: 0, resolve, allowPrivate: true, onEvent: (e) => events.push(e) });
  strict = await startEgressProxy({ policy, port: 0, resolve, onEvent: (e) => events.push(e) });
});
afterAll(async () => {
  await proxy.close();
  await strict.close();
  web.close();
});

function send(port: number, text: string): Promise<string> {
  return new Promise((res, rej) => {
    const s = connect({ port, host: "127.0.0.1" });
    let buf = "";
    s.on("connect", () => s.write(text));
    s.on("data", (d) => {
      buf += d.toString();
      if (buf.startsWith("HTTP/1.1 200 Connection Established\r\n\r\n") && !buf.includes("GET")) {
        buf = "";
        s.write(`GET /tunnel HTTP/1.1\r\nHost: x\r\n\r\n`);
      }
    });
    s.on("end", () => res(buf));
    s.on("error", rej);
  });
}

describe("egress proxy", () => {
  test("domain patterns", () => {
    expect(matchDomain("example.com", "EXAMPLE.com.", 443).match).toBe(true);
    expect(matchDomain("example.com", "api.example.com", 443).match).toBe(false);
    expect(matchDomain("*.example.com", "api.example.com", 443).match).toBe(true);
    expect(matchDomain("*.example.com", "a.b.example.com", 443).match).toBe(true);
    expect(matchDomain("*.example.com", "example.com", 443).match).toBe(false);
    expect(matchDomain("*.example.com", "evilexample.com", 443).match).toBe(false);
    expect(matchDomain("example.com:8443", "example.com", 8443)).toEqual({ match: true, explicitPort: true });
    expect(matchDomain("example.com:8443", "example.com", 443).match).toBe(false);
  });

  test("decisions: deny beats allow, mode deny, ports", () => {
    const p = { mode: "allowlist" as const, allow_domains: ["*.a.com", "b.com:8080"], deny_domains: ["x.a.com"] };
    expect(decide(p, "y.a.com", 443).allowed).toBe(true);
    expect(decide(p, "x.a.com", 443)).toMatchObject({ allowed: false, reason: expect.stringContaining("deny_domains") });
    expect(decide(p, "y.a.com", 22)).toMatchObject({ allowed: false, reason: "port 22 not allowed" });
    expect(decide(p, "b.com", 8080).allowed).toBe(true);
    expect(decide(p, "c.com", 443)).toMatchObject({ allowed: false, reason: "not in network.allow_domains" });
    expect(decide({ ...p, mode: "deny" }, "y.a.com", 443)).toMatchObject({ allowed: false, reason: "network.egress is deny" });
    expect(decide({ ...p, mode: "open" }, "c.com", 443).allowed).toBe(true);
    expect(decide({ ...p, mode: "open" }, "x.a.com", 443).allowed).toBe(false);
  });

  test("non-public addresses", () => {
    for (const a of ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "0.0.0.0"]) {
      expect(isNonPublicAddress(a)).toBe(true);
    }
    for (const a of ["93.184.216.34", "2606:4700::1"]) expect(isNonPublicAddress(a)).toBe(false);
  });

  test("CONNECT to an allowed domain tunnels; others get 403; each attempt is an event", async () => {
    events.length = 0;
    const ok = await send(proxy.port as number, `CONNECT allowed.test:${webPort} HTTP/1.1\r\nHost: allowed.test\r\n\r\n`);
    expect(ok).toContain("GET /tunnel");
    const wild = await send(proxy.port as number, `CONNECT api.wild.test:${webPort} HTTP/1.1\r\n\r\n`);
    expect(wild).toContain("GET /tunnel");
    const denied = await send(proxy.port as number, `CONNECT other.test:${webPort} HTTP/1.1\r\n\r\n`);
    expect(denied).toStartWith("HTTP/1.1 403");
    const rawIp = await send(proxy.port as number, `CONNECT 127.0.0.1:${webPort} HTTP/1.1\r\n\r\n`);
    expect(rawIp).toStartWith("HTTP/1.1 403");
    expect(events.map((e) => `${e.method} ${e.host}:${e.port} ${e.allowed}`)).toEqual([
      `CONNECT allowed.test:${webPort} true`,
      `CONNECT api.wild.test:${webPort} true`,
      `CONNECT other.test:${webPort} false`,
      `CONNECT 127.0.0.1:${webPort} false`,
    ]);
  });

  test("plain HTTP forwarding (absolute-form) is checked the same way", async () => {
    const ok = await send(proxy.port as number, `GET http://allowed.test:${webPort}/path?q=1 HTTP/1.1\r\nHost: allowed.test\r\nProxy-Connection: keep-alive\r\n\r\n`);
    expect(ok).toContain("GET /path?q=1 HTTP/1.1");
    const no = await send(proxy.port as number, `GET http://other.test:${webPort}/ HTTP/1.1\r\nHost: other.test\r\n\r\n`);
    expect(no).toStartWith("HTTP/1.1 403");
    const origin = await send(proxy.port as number, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(origin).toStartWith("HTTP/1.1 400");
  });

  test("an allowed name that resolves to a private address is refused (no SSRF into the host's network)", async () => {
    events.length = 0;
    const r = await send(strict.port as number, `CONNECT allowed.test:${webPort} HTTP/1.1\r\n\r\n`);
    expect(r).toStartWith("HTTP/1.1 403");
    expect(events[0]).toMatchObject({ host: "allowed.test", allowed: false, reason: expect.stringContaining("non-public") });
  });
});
