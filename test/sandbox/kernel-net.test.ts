/**
 * The kernel ring's network confinement, for real, on loopback only: Landlock TCP port rules,
 * the seccomp socket filter, the network namespace with its bridge, the egress proxy, and
 * Landlock scoping of signals. No packet ever leaves the machine: inside the sandbox's
 * namespace only its own loopback exists, and the proxy's resolver maps test names to 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import type { EgressEvent } from "../../src/sandbox/index.ts";
import { runConfined } from "../../src/sandbox/index.ts";
import { baseSpec, kernelSkipReason, makeFixture, probeInside, type Fixture } from "./helpers.ts";

const skip = kernelSkipReason !== null;
let f: Fixture;
const servers: Server[] = [];
let gw = 0;
let other = 0;
let web = 0;
let unixPath = "";

const listen = (s: Server, arg: { port: number; host: string } | { path: string }) =>
  new Promise<number>((res) => {
    servers.push(s);
    s.listen(arg, () => {
      const a = s.address();
      res(typeof a === "object" && a ? a.port : 0);
    });
  });

beforeAll(async () => {
  f = makeFixture();
  const echo = () => createServer((c) => c.on("data", (d) => c.end(`pong:${d.toString().trim()}`)));
  gw = await listen(echo(), { port: 0, host: "127.0.0.1" });
  other = await listen(echo(), { port: 0, host: "127.0.0.1" });
  web = await listen(
    createServer((c) => c.once("data", () => c.end("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"))),
    { port: 0, host: "127.0.0.1" },
  );
  unixPath = join(f.home, "agent.sock");
  await listen(echo(), { path: unixPath });
  await listen(echo(), { path: "\0tappass-test-abstract" });
});
afterAll(() => {
  for (const s of servers) s.close();
  f?.cleanup();
});

const netSpec = () => baseSpec(f, { bridged_ports: [gw], connect_tcp_ports: [gw] });

describe.skipIf(skip)("kernel ring: network", () => {
  test("TCP: the bridged gateway port works; other ports, other addresses and raw IPs do not", async () => {
    const { results } = await probeInside(netSpec(), [
      { op: "tcp", host: "127.0.0.1", port: gw, send: "ping" },
      { op: "tcp", host: "127.0.0.1", port: other, send: "ping" },
      { op: "tcp", host: "127.0.0.2", port: gw, send: "ping" },
      { op: "tcp", host: "192.0.2.1", port: gw, send: "ping" },
      { op: "tcp", host: "::1", port: other, send: "ping" },
    ]);
    expect(results[0]).toMatchObject({ ok: true, data: "pong:ping" });
    expect(results[1]).toMatchObject({ ok: false, code: "EACCES" }); // Landlock: port not allowed
    expect(results[2]?.ok).toBe(false); // namespace loopback: nothing there
    expect(results[3]?.ok).toBe(false); // no route out of the namespace
    expect(results[4]).toMatchObject({ ok: false, code: "EACCES" });
  });

  test("UDP (DNS exfiltration) is refused by seccomp", async () => {
    const { results } = await probeInside(netSpec(), [
      { op: "udp", host: "127.0.0.1", port: 53 },
      { op: "udp", host: "127.0.0.53", port: 53 },
    ]);
    for (const r of results) expect(r).toMatchObject({ ok: false, code: "EACCES" });
  });

  test("unix sockets outside the sandbox are refused (pathname and abstract)", async () => {
    const { results } = await probeInside(netSpec(), [
      { op: "unix", path: unixPath },
      { op: "unix", path: "\0tappass-test-abstract" },
    ]);
    for (const r of results) {
      expect(r.ok).toBe(false);
      expect(r.code).toBe("EACCES");
    }
    // Even when a spec allows unix sockets, the host's abstract namespace stays out of reach.
    const allowed = await probeInside(baseSpec(f, { allow_unix_sockets: true }), [{ op: "unix", path: "\0tappass-test-abstract" }]);
    expect(allowed.results[0]?.ok).toBe(false);
  });

  test("signalling the parent or any process outside the sandbox is refused", async () => {
    const { results } = await probeInside(netSpec(), [
      { op: "kill", pid: "ppid", signal: "SIGTERM" },
      { op: "kill", pid: 1, signal: "SIGKILL" },
      { op: "kill-all" },
      { op: "kill", pid: process.pid, signal: "SIGTERM" },
    ]);
    expect(results[0]).toMatchObject({ ok: false, code: "EPERM" });
    expect(results[1]).toMatchObject({ ok: false, code: "EPERM" });
    expect(results[2]?.ok).toBe(false);
    expect(results[3]?.ok).toBe(false); // the governor is not even visible (PID namespace)
  });

  test("the egress proxy lets an allowed domain through and refuses others, auditing each attempt", async () => {
    const events: EgressEvent[] = [];
    const spec = baseSpec(f, { egress: { mode: "allowlist", allow_domains: ["allowed.test", "*.wild.test"], deny_domains: ["bad.wild.test"], proxy_port: 3128 } });
    const { results } = await probeInside(
      spec,
      [
        { op: "proxy", proxy: 3128, host: "allowed.test", port: web },
        { op: "proxy", proxy: 3128, host: "api.wild.test", port: web },
        { op: "proxy", proxy: 3128, host: "denied.test", port: web },
        { op: "proxy", proxy: 3128, host: "bad.wild.test", port: web },
        { op: "proxy", proxy: 3128, host: "127.0.0.1", port: web },
      ],
      { resolve: async () => ["127.0.0.1"], allowPrivate: true, egressPorts: [web], onEgress: (e) => events.push(e) },
    );
    expect(results[0]?.ok).toBe(true);
    expect(results[0]?.data).toContain("hello");
    expect(results[1]?.ok).toBe(true);
    for (const r of results.slice(2)) {
      expect(r.ok).toBe(false);
      expect(r.code).toContain("403");
    }
    expect(events.map((e) => [e.host, e.allowed])).toEqual([
      ["allowed.test", true],
      ["api.wild.test", true],
      ["denied.test", false],
      ["bad.wild.test", false],
      ["127.0.0.1", false],
    ]);
    expect(events[2]?.reason).toContain("allow_domains");
    expect(events[3]?.reason).toContain("deny_domains");
  });

  test("nothing outlives the sandbox (PID namespace): background children and the bridge die with it", async () => {
    const marker = `tappass-sleep-${process.pid}-${Date.now()}`;
    const r = await runConfined(netSpec(), ["/bin/sh", "-c", `exec -a ${marker} sleep 30 & echo started`], { stdio: ["ignore", "pipe", "pipe"] });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("started");
    await Bun.sleep(200);
    const { readdirSync, readFileSync } = await import("node:fs");
    const leftovers = readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          const cmd = readFileSync(`/proc/${p}/cmdline`, "utf8");
          return cmd.includes(marker) || (cmd.includes("--bridge") && cmd.includes("tappass-sbx-"));
        } catch {
          return false;
        }
      });
    expect(leftovers).toEqual([]);
  });

  test("exit codes pass through", async () => {
    const r = await runConfined(netSpec(), ["/bin/sh", "-c", "exit 7"], { stdio: ["ignore", "pipe", "pipe"] });
    expect(r.exitCode).toBe(7);
  });
});
