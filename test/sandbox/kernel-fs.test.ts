/**
 * The kernel ring's filesystem confinement, for real: Landlock + bwrap masks, run as root here.
 * Every "escape" attempt must fail; the permitted actions must work.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { dirname, join } from "node:path";
import { baseSpec, kernelSkipReason, makeFixture, probeInside, type Fixture, worldReachableRunner } from "./helpers.ts";

const skip = kernelSkipReason !== null;
let f: Fixture;
beforeAll(() => {
  f = makeFixture();
});
afterAll(() => f?.cleanup());

describe.skipIf(skip)("kernel ring: filesystem", () => {
  test("allowed reads work, denied files and dirs get EACCES", async () => {
    const { results } = await probeInside(baseSpec(f), [
      { op: "read", path: join(f.home, "notes.txt") },
      { op: "read", path: join(f.ws, "README.md") },
      { op: "read", path: join(f.home, ".ssh", "id_rsa") },
      { op: "readdir", path: join(f.home, ".ssh") },
      { op: "read", path: join(f.home, ".aws", "credentials") },
      { op: "read", path: join(f.home, ".netrc") },
      { op: "read", path: join(f.outside, "secret.txt") },
      { op: "readdir", path: "/root" },
      { op: "readdir", path: "/var/log" },
      { op: "write", path: join(f.ws, "new.txt") },
      { op: "read", path: join(f.ws, "new.txt") },
      { op: "write", path: join(f.home, "notes.txt") },
    ]);
    const [notes, readme, idrsa, sshdir, aws, netrc, outside, root, varlog, wnew, rnew, wnotes] = results;
    expect(notes).toMatchObject({ ok: true, data: "public notes\n" });
    expect(readme).toMatchObject({ ok: true, data: "workspace\n" });
    expect(idrsa).toMatchObject({ ok: false, code: "EACCES" });
    expect(sshdir).toMatchObject({ ok: false, code: "EACCES" });
    expect(aws).toMatchObject({ ok: false, code: "EACCES" });
    expect(netrc).toMatchObject({ ok: false, code: "EACCES" });
    // not bound into the private /tmp at all
    expect(outside).toMatchObject({ ok: false, code: "ENOENT" });
    expect(root).toMatchObject({ ok: false, code: "EACCES" });
    expect(varlog).toMatchObject({ ok: false, code: "EACCES" });
    expect(wnew?.ok).toBe(true);
    expect(rnew).toMatchObject({ ok: true, data: "tampered" });
    expect(wnotes?.ok).toBe(false);
  });

  test("without a private /tmp, paths outside the rules get EACCES from Landlock", async () => {
    const { results } = await probeInside(baseSpec(f, { private_tmp: false }), [
      { op: "read", path: join(f.outside, "secret.txt") },
      { op: "readdir", path: f.root },
      { op: "read", path: join(f.home, ".ssh", "id_rsa") },
      { op: "read", path: join(f.home, "notes.txt") },
      { op: "write", path: join(f.ws, "b.txt") },
    ]);
    expect(results[0]).toMatchObject({ ok: false, code: "EACCES" });
    expect(results[1]).toMatchObject({ ok: false, code: "EACCES" });
    expect(results[2]).toMatchObject({ ok: false, code: "EACCES" });
    expect(results[3]).toMatchObject({ ok: true });
    expect(results[4]).toMatchObject({ ok: true });
  });

  test("symlinks, hardlinks and /proc/self/root into denied paths are refused", async () => {
    const { results } = await probeInside(baseSpec(f), [
      { op: "symlink", target: join(f.home, ".ssh", "id_rsa"), link: join(f.ws, "key-link") },
      { op: "symlink", target: join(f.outside, "secret.txt"), link: join(f.ws, "outside-link") },
      { op: "hardlink", target: join(f.home, ".ssh", "id_rsa"), link: join(f.ws, "key-hard") },
      { op: "hardlink", target: join(f.home, ".netrc"), link: join(f.ws, "netrc-hard") },
      { op: "hardlink", target: join(f.outside, "secret.txt"), link: join(f.ws, "outside-hard") },
      { op: "read", path: `/proc/self/root${join(f.home, ".ssh", "id_rsa")}` },
      { op: "read", path: `/proc/self/root${join(f.outside, "secret.txt")}` },
      { op: "read", path: `/proc/1/root${join(f.home, ".ssh", "id_rsa")}` },
      { op: "read", path: `/proc/self/cwd/../.ssh/id_rsa` },
    ]);
    for (const r of results) {
      expect(r.ok).toBe(false);
      expect(r.data ?? "").not.toContain("fake");
      expect(r.data ?? "").not.toContain("secret");
    }
  });

  test("the keyring is readable and never writable (inside the read-write workspace)", async () => {
    const { results } = await probeInside(baseSpec(f), [
      { op: "read", path: f.keyring },
      { op: "write", path: f.keyring },
      { op: "open-rw", path: f.keyring },
      { op: "write", path: `/proc/self/root${f.keyring}` },
    ]);
    expect(results[0]).toMatchObject({ ok: true, data: '{"policy":"signed"}\n' });
    for (const r of results.slice(1)) expect(r.ok).toBe(false);
    expect(await Bun.file(f.keyring).text()).toBe('{"policy":"signed"}\n');
  });

  test("runs without capabilities, as a non-root uid", async () => {
    const { results } = await probeInside(baseSpec(f), [{ op: "id" }, { op: "read", path: "/etc/shadow" }, { op: "read", path: "/proc/1/environ" }]);
    expect(results[0]?.data).toBe("1000:1000:0000000000000000");
    expect(results[1]?.ok).toBe(false);
    expect(results[2]?.ok).toBe(false);
  });

  test("as root with a user-owned workspace: a real setresuid drop", async () => {
    const { chownSync } = await import("node:fs");
    const ws2 = join(f.root, "userws");
    await Bun.write(join(ws2, "x.txt"), "mine\n");
    chownSync(ws2, 65534, 65534);
    chownSync(join(ws2, "x.txt"), 65534, 65534);
    const spec = baseSpec(f, { cwd: ws2, userns: undefined, uid: 65534, gid: 65534 });
    spec.fs.read_write = [ws2];
    const runner = worldReachableRunner();
    spec.fs.read_only.push(dirname(runner[0]));
    const { results } = await probeInside(
      spec,
      [
        { op: "id" },
        { op: "read", path: join(ws2, "x.txt") },
        { op: "write", path: join(ws2, "y.txt") },
        { op: "read", path: join(f.home, ".ssh", "id_rsa") },
        { op: "read", path: join(f.outside, "secret.txt") },
      ],
      {},
      runner,
    );
    expect(results[0]?.data).toBe("65534:65534:0000000000000000");
    expect(results[1]).toMatchObject({ ok: true, data: "mine\n" });
    expect(results[2]?.ok).toBe(true);
    expect(results[3]?.ok).toBe(false);
    expect(results[4]?.ok).toBe(false);
  });
});
