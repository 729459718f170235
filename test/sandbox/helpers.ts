/** Shared fixtures for the kernel-ring tests: a fake home with secrets, a workspace, a keyring. */
import { chmodSync, copyFileSync, linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { missingFeatures, probeKernel, runConfined, type SpawnConfinedOptions } from "../../src/sandbox/index.ts";
import { RUNTIME_READ_ONLY, type SandboxSpec } from "../../src/sandbox/spec.ts";

export const repoRoot = resolve(import.meta.dir, "..", "..");
export const probeScript = join(import.meta.dir, "fixtures", "probe.ts");
export const bunBin = process.execPath;

const probe = probeKernel();
/** Why kernel-ring tests cannot run here (printed), or null. */
export const kernelSkipReason: string | null = (() => {
  const miss = missingFeatures(probe);
  if (miss.length === 0) return null;
  const why = `kernel ring tests skipped: missing ${miss.join(", ")}`;
  console.log(why);
  return why;
})();
export const kernelProbe = probe;

export interface Fixture {
  root: string;
  home: string;
  ws: string;
  outside: string;
  keyring: string;
  cleanup(): void;
}

export function makeFixture(): Fixture {
  const root = mkdtempSync(join(tmpdir(), "tappass-sbx-test-"));
  chmodSync(root, 0o755);
  const home = join(root, "fake-home");
  const ws = join(home, "project");
  const outside = join(root, "outside");
  for (const d of [join(home, ".ssh"), join(home, ".aws"), ws, join(ws, ".tappass"), outside]) mkdirSync(d, { recursive: true });
  writeFileSync(join(home, ".ssh", "id_rsa"), "-----BEGIN OPENSSH PRIVATE KEY----- fake\n");
  writeFileSync(join(home, ".aws", "credentials"), "aws_secret_access_key=fake\n");
  writeFileSync(join(home, ".netrc"), "machine example password fake\n");
  writeFileSync(join(home, "notes.txt"), "public notes\n");
  writeFileSync(join(ws, "README.md"), "workspace\n");
  writeFileSync(join(outside, "secret.txt"), "outside secret\n");
  const keyring = join(ws, ".tappass", "keyring.json");
  writeFileSync(keyring, '{"policy":"signed"}\n');
  return { root, home, ws, outside, keyring, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export function baseSpec(f: Fixture, over: Partial<SandboxSpec> = {}): SandboxSpec {
  return {
    version: 1,
    fs: {
      read_only: [...RUNTIME_READ_ONLY, repoRoot, dirname(bunBin), f.home],
      read_write: [f.ws],
      deny: [join(f.home, ".ssh"), join(f.home, ".aws"), join(f.home, ".netrc")],
    },
    keyring_path: f.keyring,
    connect_tcp_ports: [],
    bind_tcp_ports: [],
    bridged_ports: [],
    egress: { mode: "allowlist", allow_domains: [], deny_domains: [], proxy_port: 3128 },
    env: { PATH: "/usr/bin:/bin", HOME: f.home, BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0", NO_COLOR: "1" },
    cwd: f.ws,
    userns: { uid: 1000, gid: 1000 },
    private_tmp: true,
    allow_unix_sockets: false,
    scope: true,
    ...over,
  };
}

export type ProbeResult = { op: string; ok: boolean; code?: string; data?: string };

/** Run the probe script inside the sandbox with these attempts; returns one result per attempt. */
export async function probeInside(spec: SandboxSpec, attempts: Array<Record<string, unknown>>, opts: SpawnConfinedOptions = {}, runner: [string, string] = [bunBin, probeScript]) {
  const r = await runConfined(spec, [...runner, JSON.stringify(attempts)], { stdio: ["ignore", "pipe", "pipe"], ...opts });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  let results: ProbeResult[];
  try {
    results = JSON.parse(line) as ProbeResult[];
  } catch {
    throw new Error(`probe failed (exit ${r.exitCode}): ${r.stderr}\n${r.stdout}`);
  }
  return { results, run: r };
}

/**
 * Bun and the probe script at a path every uid can traverse. A checkout under a 0700 directory
 * (a CI clone in `mktemp -d`) is unreachable once the sandbox drops to another uid.
 */
export function worldReachableRunner(): [string, string] {
  const dir = mkdtempSync(join(tmpdir(), "tappass-probe-"));
  chmodSync(dir, 0o755);
  const bun = join(dir, "bun");
  try {
    linkSync(bunBin, bun);
  } catch {
    copyFileSync(bunBin, bun);
  }
  chmodSync(bun, 0o755);
  const script = join(dir, "probe.ts");
  copyFileSync(probeScript, script);
  chmodSync(script, 0o644);
  return [bun, script];
}
