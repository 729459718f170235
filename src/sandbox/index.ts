/**
 * The kernel ring's library API (the `exec` orchestration calls this):
 *   probeKernel()                       what this machine can enforce
 *   assertKernelRing(probe)             refuse, with a message, when it cannot
 *   spawnConfined(spec, argv, opts)     run a command under netns + bridge + __exec
 *
 * spawnConfined on the host: starts the egress proxy and the gateway/broker forwarders on unix
 * sockets in a private directory, writes the spec there, and starts
 *   bwrap <namespaces, mounts, masks> -- tappass __exec --spec FILE -- argv…
 * whose __exec step starts the bridge, restricts itself and execve's argv (inner.ts).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { selfCommand } from "../cli/self.ts";
import { inputError } from "../engine/errors.ts";
import { startEgressProxy, type EgressEvent, type EgressPolicy } from "./egress-proxy.ts";
import { egressSocket, startPortForwarders } from "./bridge.ts";
import { landlockAbi } from "./landlock.ts";
import { bwrapArgs, findBwrap, userNamespacesAvailable } from "./netns.ts";
import { seccompAvailable } from "./seccomp.ts";
import { DEFAULT_DENY, expandGlob, proxyEnv, type SandboxSpec } from "./spec.ts";
import type { InnerSpec } from "./inner.ts";

export type { SandboxSpec } from "./spec.ts";
export { specFromPolicy } from "./spec.ts";
export type { EgressEvent } from "./egress-proxy.ts";

export interface KernelProbe {
  landlock_abi: number | null;
  seccomp: boolean;
  bwrap: string | null;
  userns: boolean;
  arch: string;
}

export function probeKernel(): KernelProbe {
  const linux = process.platform === "linux";
  return {
    landlock_abi: linux ? landlockAbi() : null,
    seccomp: linux && seccompAvailable(),
    bwrap: linux ? findBwrap() : null,
    userns: linux && userNamespacesAvailable(),
    arch: process.arch,
  };
}

/** Features the kernel ring needs and which are missing (empty = can enforce). */
export function missingFeatures(p: KernelProbe): string[] {
  const miss: string[] = [];
  if (!p.landlock_abi) miss.push("Landlock (kernel ≥ 5.13 with landlock in the LSM list)");
  else if (p.landlock_abi < 4) miss.push(`Landlock ABI ≥ 4 for TCP rules (found ${p.landlock_abi})`);
  if (!p.seccomp) miss.push("seccomp filters");
  if (!p.bwrap) miss.push("bubblewrap (apt-get install bubblewrap)");
  if (!p.userns && process.getuid?.() !== 0) miss.push("unprivileged user namespaces");
  return miss;
}

/**
 * Refuse to go on when the kernel ring cannot be enforced. The caller decides about
 * `--no-kernel`; this never returns silently on a machine that cannot confine.
 */
export function assertKernelRing(p: KernelProbe = probeKernel()): void {
  const miss = missingFeatures(p);
  if (miss.length) {
    throw inputError("kernel_ring_unavailable", `the kernel ring cannot be enforced here: missing ${miss.join(", ")}`, {
      hint: "fix the host, or pass --no-kernel to run without kernel confinement (the run is then recorded as unconfined)",
      details: { probe: p },
    });
  }
}

const isCompiled = () => import.meta.url.includes("$bunfs") || import.meta.url.includes("~BUN");

/** argv prefix that runs the `__exec` step: the binary's hidden command, or entry.ts from source. */
export function innerCommand(): string[] {
  if (typeof Bun === "undefined") throw new Error("the kernel ring needs the Bun runtime (bun:ffi)");
  if (process.env.TAPPASS_SELF || isCompiled()) return [...selfCommand(), "__exec"];
  return [process.execPath, resolve(import.meta.dir, "entry.ts")];
}

type StdioOpt = "inherit" | "pipe" | "ignore";

export interface SpawnConfinedOptions {
  stdio?: [StdioOpt, StdioOpt, StdioOpt];
  /** Called for every egress attempt through the proxy (audit it). */
  onEgress?: (e: EgressEvent) => void;
  /** Name resolution for the egress proxy (tests inject one). */
  resolve?: (host: string) => Promise<string[]>;
  /** Let allowed names resolve to private/loopback addresses (tests). */
  allowPrivate?: boolean;
  /** Ports the proxy allows for allowed hosts (default 80, 443). */
  egressPorts?: number[];
  /** Add HTTP(S)_PROXY variables pointing at the proxy to the agent's env (default true). */
  setProxyEnv?: boolean;
}

export interface ConfinedResult {
  exitCode: number;
  /** Signal name when the sandbox was killed by one. */
  signal: string | null;
  egress: EgressEvent[];
  duration_ms: number;
}

export interface ConfinedProcess {
  pid: number;
  stdin: import("bun").FileSink | null;
  stdout: ReadableStream<Uint8Array> | null;
  stderr: ReadableStream<Uint8Array> | null;
  /** Resolves when the sandbox is gone and the proxy and forwarders are closed. */
  exited: Promise<ConfinedResult>;
  kill(signal?: NodeJS.Signals | number): void;
  /** The mounts masking denied paths. */
  masked: Array<{ path: string; kind: "dir" | "file" }>;
}

/** Run `argv` confined by `spec`. Throws (never runs unconfined) when the ring is unavailable. */
export async function spawnConfined(spec: SandboxSpec, argv: string[], opts: SpawnConfinedOptions = {}): Promise<ConfinedProcess> {
  if (argv.length === 0) throw inputError("usage_error", "no command to run");
  const probe = probeKernel();
  assertKernelRing(probe);
  const bwrap = probe.bwrap as string;
  const t0 = performance.now();

  const sockDir = mkdtempSync(join(tmpdir(), "tappass-sbx-"));
  chmodSync(sockDir, 0o700);
  const maskFile = join(sockDir, "mask");
  writeFileSync(maskFile, "", { mode: 0 });
  chmodSync(maskFile, 0);

  const egress: EgressEvent[] = [];
  const policy: EgressPolicy = { mode: spec.egress.mode, allow_domains: spec.egress.allow_domains, deny_domains: spec.egress.deny_domains, allow_ports: opts.egressPorts };
  const closers: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    await Promise.allSettled(closers.map((c) => c()));
    rmSync(sockDir, { recursive: true, force: true });
  };
  try {
    const proxy = await startEgressProxy({
      policy,
      unixPath: egressSocket(sockDir),
      resolve: opts.resolve,
      allowPrivate: opts.allowPrivate,
      onEvent: (e) => {
        egress.push(e);
        opts.onEgress?.(e);
      },
    });
    closers.push(proxy.close);
    const fwd = await startPortForwarders(sockDir, spec.bridged_ports);
    closers.push(fwd.close);

    const inner: InnerSpec = {
      ...spec,
      fs: { ...spec.fs, deny: [...new Set([...spec.fs.deny, ...DEFAULT_DENY.flatMap((p) => expandGlob(p))])] },
      env: opts.setProxyEnv === false ? spec.env : { ...spec.env, ...proxyEnv(spec.egress.proxy_port) },
      connect_tcp_ports: [...new Set([...spec.connect_tcp_ports, spec.egress.proxy_port])],
      self: innerCommand(),
      sock_dir: sockDir,
    };
    const specPath = join(sockDir, "spec.json");
    writeFileSync(specPath, JSON.stringify(inner), { mode: 0o600 });
    const plan = bwrapArgs(inner, { sockDir, maskFile });
    const stdio = opts.stdio ?? ["inherit", "inherit", "inherit"];
    const child = Bun.spawn([bwrap, ...plan.args, ...inner.self, "--spec", specPath, "--", ...argv], {
      stdio,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...(process.env.TAPPASS_SELF ? { TAPPASS_SELF: process.env.TAPPASS_SELF } : {}) },
    });
    const exited = child.exited.then(async (code) => {
      await cleanup();
      return { exitCode: code, signal: child.signalCode == null ? null : String(child.signalCode), egress, duration_ms: performance.now() - t0 };
    });
    return {
      pid: child.pid,
      stdin: (child.stdin as import("bun").FileSink | null) ?? null,
      stdout: (child.stdout as ReadableStream<Uint8Array> | null) ?? null,
      stderr: (child.stderr as ReadableStream<Uint8Array> | null) ?? null,
      exited,
      kill: (sig) => child.kill(sig),
      masked: plan.masked,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** spawnConfined and wait; stdout/stderr collected when piped. */
export async function runConfined(
  spec: SandboxSpec,
  argv: string[],
  opts: SpawnConfinedOptions = {},
): Promise<ConfinedResult & { stdout: string; stderr: string }> {
  const p = await spawnConfined(spec, argv, opts);
  const [stdout, stderr, r] = await Promise.all([
    p.stdout ? new Response(p.stdout).text() : Promise.resolve(""),
    p.stderr ? new Response(p.stderr).text() : Promise.resolve(""),
    p.exited,
  ]);
  return { ...r, stdout, stderr };
}
