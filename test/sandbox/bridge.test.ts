// The in-namespace bridge waits for the host side's unix sockets: exec hands the spec over first
// and starts its forwarders and egress proxy while the command starts.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectUnix } from "../../src/sandbox/bridge.ts";

test("connectUnix waits for a socket that appears late, and gives up on one that never does", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tappass-bridge-"));
  try {
    const path = join(dir, "late.sock");
    const pending = connectUnix(path, 2000);
    await Bun.sleep(60);
    const server = createServer((c) => c.end("hello from the host"));
    await new Promise<void>((r) => server.listen({ path }, () => r()));
    const sock = await pending;
    const got = await new Promise<string>((r) => {
      let s = "";
      sock.on("data", (d) => (s += d));
      sock.on("end", () => r(s));
    });
    expect(got).toBe("hello from the host");
    server.close();

    const t0 = performance.now();
    await expect(connectUnix(join(dir, "never.sock"), 100)).rejects.toMatchObject({ code: "ENOENT" });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(90);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
