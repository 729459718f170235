/**
 * The upstream HTTP call, over both clients (undici; Bun's native fetch, the default under Bun):
 * same status/headers/body, same time limits and failure kinds, same breaker bookkeeping.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { BreakerRegistry } from "../../../src/engine/gateway/circuit-breaker.ts";
import { type UpstreamFailure, Upstreams, upstreamClient } from "../../../src/engine/gateway/upstreams.ts";

let server: Server;
let base = "";
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url?.startsWith("/v1/ok")) {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json", "x-request-id": "r1", "set-cookie": "no=1" });
        res.end(JSON.stringify({ echo: body, auth: req.headers.authorization }));
      });
    } else if (req.url?.startsWith("/v1/hang")) {
      /* never answers */
    } else if (req.url?.startsWith("/v1/stall")) {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: first\n\n");
      /* then silence */
    } else {
      res.writeHead(500, { "content-type": "application/json" });
      res.end('{"error":{"message":"boom"}}');
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections?.();
  server.close();
});

const route = () => ({ provider: "openai" as const, base });
const read = async (body: AsyncIterable<Uint8Array>) => {
  let s = "";
  for await (const c of body) s += Buffer.from(c).toString();
  return s;
};

test("the client: Bun's native one under Bun unless TAPPASS_UPSTREAM_CLIENT says otherwise", () => {
  expect(upstreamClient({})).toBe("fetch");
  expect(upstreamClient({ TAPPASS_UPSTREAM_CLIENT: "undici" })).toBe("undici");
});

for (const client of ["fetch", "undici"] as const) {
  describe(`upstream over ${client}`, () => {
    const make = (t = { headers_ms: 300, idle_ms: 300 }) => {
      const prev = process.env.TAPPASS_UPSTREAM_CLIENT;
      process.env.TAPPASS_UPSTREAM_CLIENT = client;
      const breakers = new BreakerRegistry({ threshold: 2, cooldownMs: 60_000 });
      const u = new Upstreams(breakers, t);
      process.env.TAPPASS_UPSTREAM_CLIENT = prev;
      expect(u.client).toBe(client);
      return { u, breakers };
    };

    test("status, passed-through headers and body; the request body and headers arrive", async () => {
      const { u } = make();
      const r = await u.request(route(), "/v1/ok", { method: "POST", headers: { authorization: "Bearer real", "content-type": "application/json" }, body: '{"a":1}' });
      expect(r.status).toBe(200);
      expect(r.headers["x-request-id"]).toBe("r1");
      expect(r.headers["set-cookie"]).toBeUndefined();
      expect(JSON.parse(await read(r.body))).toEqual({ echo: '{"a":1}', auth: "Bearer real" });
      await u.close();
    });

    test("no answer within headers_ms: a timeout failure", async () => {
      const { u } = make();
      const e = (await u.request(route(), "/v1/hang", { method: "POST", headers: {}, body: "{}" }).catch((x) => x)) as UpstreamFailure;
      expect(e.kind).toBe("timeout");
      expect(e.message).toContain("did not answer");
      await u.close();
    });

    test("silence mid-body longer than idle_ms: the body iterator throws a timeout", async () => {
      const { u } = make();
      const r = await u.request(route(), "/v1/stall", { method: "POST", headers: {}, body: "{}" });
      const e = (await read(r.body).catch((x) => x)) as UpstreamFailure;
      expect(e.kind).toBe("timeout");
      expect(e.message).toContain("silent");
      await u.close();
    });

    test("the client going away aborts the upstream call (not counted as an upstream failure)", async () => {
      const { u, breakers } = make({ headers_ms: 5000, idle_ms: 5000 });
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 50);
      const e = (await u.request(route(), "/v1/hang", { method: "POST", headers: {}, body: "{}", signal: ac.signal }).catch((x) => x)) as UpstreamFailure;
      expect(e.kind).toBe("aborted");
      expect(breakers.get(base).state).toBe("closed");
      await u.close();
    });

    test("refused connections and 5xx open the breaker; then calls fail fast", async () => {
      const { u } = make();
      const dead = { provider: "openai" as const, base: "http://127.0.0.1:9" };
      const e1 = (await u.request(dead, "/v1/ok", { method: "POST", headers: {}, body: "{}" }).catch((x) => x)) as UpstreamFailure;
      expect(e1.kind).toBe("connect");
      expect(e1.message).toContain("cannot reach upstream http://127.0.0.1:9");
      await u.request(dead, "/v1/ok", { method: "POST", headers: {}, body: "{}" }).catch((x) => x);
      const e3 = (await u.request(dead, "/v1/ok", { method: "POST", headers: {}, body: "{}" }).catch((x) => x)) as UpstreamFailure;
      expect(e3.kind).toBe("circuit_open");
      const r = await u.request(route(), "/v1/fail", { method: "POST", headers: {}, body: "{}" });
      expect(r.status).toBe(500);
      expect(await read(r.body)).toContain("boom");
      await u.close();
    });
  });
}
