/**
 * Kernel-ring overhead, side by side in one run (medians of N):
 *   /bin/true · bwrap --ro-bind / / /bin/true · bwrap with the ring's namespaces ·
 *   spawnConfined(/bin/true) (the whole ring: proxy, forwarders, bwrap, __exec, bridge,
 *   Landlock, seccomp) · `tappass exec -- /bin/true` (binary when built, else from source).
 * Goal: the ring adds ≤ 15 ms over /bin/true. For context it also times the floors exec cannot
 * go below with this design: one start of the compiled binary (`tappass --version`) — exec
 * pays two (the governor and the __exec step inside the namespaces) — and bwrap with the ring's
 * namespaces. TAPPASS_BENCH_BASELINE_BIN=/path/to/older/tappass times that binary's exec in
 * the same run (before/after on a noisy machine).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { probeKernel, spawnConfined } from "../src/sandbox/index.ts";
import { RUNTIME_READ_ONLY, type SandboxSpec } from "../src/sandbox/spec.ts";

const N = Number(process.env.TAPPASS_BENCH_N ?? 15);
const root = resolve(import.meta.dir, "..");
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return Number((s[Math.floor(s.length / 2)] ?? Number.NaN).toFixed(2));
};

async function timeIt(fn: () => Promise<unknown>, n = N): Promise<{ median_ms: number; min_ms: number; runs: number }> {
  await fn(); // warm-up
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    xs.push(performance.now() - t);
  }
  return { median_ms: median(xs), min_ms: Number(Math.min(...xs).toFixed(2)), runs: n };
}

const run = (argv: string[], env?: Record<string, string>) => async () => {
  const p = Bun.spawn(argv, { stdio: ["ignore", "ignore", "pipe"], env: env ?? process.env });
  const code = await p.exited;
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}: ${await new Response(p.stderr).text()}`);
};

export default async function (): Promise<Record<string, unknown>> {
  const probe = probeKernel();
  const out: Record<string, unknown> = { probe, n: N };
  out.true = await timeIt(run(["/bin/true"]));
  if (!probe.bwrap || !probe.landlock_abi) return { ...out, skipped: "no bwrap or no Landlock on this host" };
  const bw = probe.bwrap;
  out.bwrap_ro_bind = await timeIt(run([bw, "--ro-bind", "/", "/", "/bin/true"]));
  const nsFlags = ["--die-with-parent", "--unshare-net", "--unshare-pid", "--unshare-ipc", ...(process.getuid?.() === 0 ? [] : ["--unshare-user"])];
  out.bwrap_ring_namespaces = await timeIt(run([bw, ...nsFlags, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "/bin/true"]));

  const ws = mkdtempSync(join(tmpdir(), "tappass-bench-"));
  try {
    const spec: SandboxSpec = {
      version: 1,
      fs: { read_only: [...RUNTIME_READ_ONLY], read_write: [ws], deny: [join(ws, ".secret")] },
      keyring_path: null,
      connect_tcp_ports: [40101, 40102],
      bind_tcp_ports: [],
      bridged_ports: [40101, 40102],
      egress: { mode: "allowlist", allow_domains: ["api.anthropic.com"], deny_domains: [], proxy_port: 3128 },
      env: { PATH: "/usr/bin:/bin" },
      cwd: ws,
      userns: process.getuid?.() === 0 ? { uid: 1000, gid: 1000 } : { uid: process.getuid?.() ?? 1000, gid: process.getgid?.() ?? 1000 },
      private_tmp: true,
      allow_unix_sockets: false,
      scope: true,
    };
    out.spawn_confined_true = await timeIt(async () => {
      const p = await spawnConfined(spec, ["/bin/true"], { stdio: ["ignore", "ignore", "inherit"] });
      const r = await p.exited;
      if (r.exitCode !== 0) throw new Error(`confined /bin/true exited ${r.exitCode}`);
    });
    // The __exec step on its own (Bun start-up + Landlock + seccomp + execve), no namespaces.
    // Start-up of the __exec step's runtime alone (from source; the compiled binary is faster).
    const entry = join(root, "src", "sandbox", "entry.ts");
    out.bun_startup_exec_step = await timeIt(async () => {
      await Bun.spawn([process.execPath, entry], { stdio: ["ignore", "ignore", "ignore"] }).exited;
    });
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }

  // The full `tappass exec` (governor: policy compile, gateway, hooks, render, ring).
  const bin = join(root, "dist", "tappass");
  const home = mkdtempSync(join(tmpdir(), "tappass-bench-home-"));
  try {
    const env = { ...process.env, TAPPASS_HOME: home } as Record<string, string>;
    const binHasExec = existsSync(bin) && Bun.spawnSync([bin, "exec", "--help"], { env, stdio: ["ignore", "ignore", "ignore"] }).exitCode === 0;
    const self = binHasExec ? [bin] : [process.execPath, join(root, "src", "cli", "main.ts")];
    const init = Bun.spawnSync([...self, "init"], { env, stdio: ["ignore", "ignore", "ignore"] });
    out.tappass_exec_via = binHasExec ? "dist/tappass" : "bun src/cli/main.ts";
    if (binHasExec) out.tappass_version = await timeIt(run([bin, "--version"], env));
    // (timeIt's warm-up run also fills the compiled-policy cache, as any earlier exec would)
    out.tappass_exec_true = init.exitCode === 0 ? await timeIt(run([...self, "exec", "--quiet", "--", "/bin/true"], env), Math.min(N, 9)).catch((e) => ({ error: String(e).slice(0, 400) })) : { error: "tappass init failed" };
    const base = process.env.TAPPASS_BENCH_BASELINE_BIN;
    if (base && existsSync(base)) {
      out.baseline_exec_true = await timeIt(run([base, "exec", "--quiet", "--", "/bin/true"], env), Math.min(N, 9)).catch((e) => ({ error: String(e).slice(0, 400) }));
      out.baseline_bin = base;
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }

  const t = (out.true as { median_ms: number }).median_ms;
  const c = (out.spawn_confined_true as { median_ms?: number }).median_ms;
  const e = (out.tappass_exec_true as { median_ms?: number }).median_ms;
  out.load_average = (await Bun.file("/proc/loadavg").text().catch(() => "")).trim();
  out.added_ms = {
    ring_over_true: c !== undefined ? Number((c - t).toFixed(2)) : null,
    ring_over_bwrap_ro_bind: c !== undefined ? Number((c - (out.bwrap_ro_bind as { median_ms: number }).median_ms).toFixed(2)) : null,
    exec_over_true: e !== undefined ? Number((e - t).toFixed(2)) : null,
    exec_over_bwrap_ro_bind: e !== undefined ? Number((e - (out.bwrap_ro_bind as { median_ms: number }).median_ms).toFixed(2)) : null,
    baseline_exec_over_true: (out.baseline_exec_true as { median_ms?: number } | undefined)?.median_ms !== undefined ? Number(((out.baseline_exec_true as { median_ms: number }).median_ms - t).toFixed(2)) : null,
    goal_ms: 15,
  };
  return out;
}

if (import.meta.main) {
  // `bun bench/sandbox.bench.ts` prints this section alone (bench/run.ts runs them all).
  const self = import.meta.path;
  import(self).then(async (m: { default: () => Promise<unknown> }) => console.log(JSON.stringify(await m.default(), null, 2)));
}
