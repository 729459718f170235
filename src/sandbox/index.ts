/**
 * The kernel ring's library API (the `exec` orchestration calls this):
 *   probeKernel()                       what this machine can enforce
 *   assertKernelRing(probe)             refuse, with a message, when it cannot
 *   spawnConfined(spec, argv, opts)     run a command under netns + bridge + __exec
 *
 * spawnConfined on the host starts
 *   bwrap <namespaces, mounts, masks> -- tappass __exec --spec-fd 3 -- argv…
 * first — the mounts only need the spec's filesystem part — and, while bwrap and the __exec
 * step's runtime start, starts the egress proxy and the gateway/broker forwarders on unix sockets
 * in a private directory, computes the late part of the spec (the agent's env: token, URLs) and
 * writes the whole spec to the step's fd 3. The step blocks on that fd, then starts the bridge,
 * restricts itself and execve's argv (inner.ts); if the spec never comes (the governor failed),
 * it refuses to run anything.
 */
import { closeSync, rmSync, writeSync } from "node:fs";
import { resolve } from "node:path";
import { selfCommand } from "../cli/self.ts";
import { inputError } from "../engine/errors.ts";
// egress-proxy.ts and bridge.ts (node:net, ~3.5 ms to load) are imported once the spec is handed over
import type { ForwardTarget } from "./bridge.ts";
import type { EgressEvent, EgressPolicy } from "./egress-proxy.ts";
import { egressSocket } from "./paths.ts";
import { debugSpan } from "./debug.ts";
import { landlockAbi } from "./landlock.ts";
import { type LaunchDirs, type Prelaunch, type StdioOpt, launchDirs, spawnBwrap } from "./prelaunch.ts";
import { bwrapArgs, findBwrap, userNamespacesAvailable } from "./netns.ts";
import { seccompAvailable } from "./seccomp.ts";
import { DEFAULT_DENY, expandGlob, proxyEnv, type SandboxSpec } from "./spec.ts";
import type { InnerSpec } from "./inner.ts";

export type { SandboxSpec } from "./spec.ts";
import { commandUnder } from "./signals.ts";
export { specFromPolicy } from "./spec.ts";
export { relaySignals } from "./signals.ts";
export type { EgressEvent } from "./egress-proxy.ts";
export { launchDirs, prelaunch, type LaunchDirs, type Prelaunch } from "./prelaunch.ts";

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
  /**
   * Where each bridged port leads on the host (default: the same port number). A target may
   * resolve late — the port's server starting on first use.
   */
  forward?: Record<number, ForwardTarget>;
  /**
   * The late part of the spec, computed after the sandbox process has been started (so the work
   * overlaps bwrap's and the __exec step's start-up): the agent's env, which replaces spec.env,
   * and more host ports to bridge on the same numbers. If it throws, the sandbox is killed
   * before anything runs and spawnConfined rethrows.
   */
  late?: () => Promise<{ env: Record<string, string>; ports?: number[] }>;
  /** A probe already made by the caller (skips probing again). */
  probe?: KernelProbe;
  /** The bridge's directory and mask file, made earlier by launchDirs() (default: made here). */
  dirs?: LaunchDirs;
  /**
   * A sandbox started early from an earlier run's command line (prelaunch): used when this
   * spec gives exactly the same bwrap command line, else killed before it ran anything.
   */
  prelaunched?: Prelaunch;
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
  /** Signal bwrap: SIGKILL ends the sandbox (the command with it, never cleanly). */
  kill(signal?: NodeJS.Signals | number): void;
  /** Signal the command itself, inside the sandbox (bwrap does not forward signals). */
  signal(signal: NodeJS.Signals): void;
  /** The command's pid as this process sees it (undefined before it runs, or after). */
  commandPid(): number | undefined;
  /** The mounts masking denied paths. */
  masked: Array<{ path: string; kind: "dir" | "file" }>;
  /** bwrap's whole argv (what a later run can prelaunch). */
  argv: string[];
  /** Whether the prelaunched sandbox was used. */
  prelaunched: boolean;
  /** The bridge's directory and mask file (removed when the sandbox exits). */
  dirs: LaunchDirs;
}

/** Run `argv` confined by `spec`. Throws (never runs unconfined) when the ring is unavailable. */
export async function spawnConfined(spec: SandboxSpec, argv: string[], opts: SpawnConfinedOptions = {}): Promise<ConfinedProcess> {
  if (argv.length === 0) throw inputError("usage_error", "no command to run");
  const probe = opts.probe ?? probeKernel();
  assertKernelRing(probe);
  const bwrap = probe.bwrap as string;
  const t0 = performance.now();

  const { sockDir, maskFile } = opts.dirs ?? launchDirs();

  const egress: EgressEvent[] = [];
  const policy: EgressPolicy = { mode: spec.egress.mode, allow_domains: spec.egress.allow_domains, deny_domains: spec.egress.deny_domains, allow_ports: opts.egressPorts };
  const closers: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    await Promise.allSettled(closers.map((c) => c()));
    rmSync(sockDir, { recursive: true, force: true });
  };
  const inner: InnerSpec = {
    ...spec,
    fs: { ...spec.fs, deny: [...new Set([...spec.fs.deny, ...DEFAULT_DENY.flatMap((p) => expandGlob(p))])] },
    connect_tcp_ports: [...new Set([...spec.connect_tcp_ports, spec.egress.proxy_port])],
    self: innerCommand(),
    sock_dir: sockDir,
  };
  let child: ReturnType<typeof Bun.spawn> | undefined;
  let specFd: number | undefined;
  let bwrapArgv: string[] = [];
  let usedPrelaunch = false;
  try {
    // 1. The namespaces and the __exec step, which waits on fd 3 for the rest of the spec.
    const plan = bwrapArgs(inner, { sockDir, maskFile });
    const stdio = opts.stdio ?? ["inherit", "inherit", "inherit"];
    // The command goes in the spec: the command line depends on the layout alone (prelaunch).
    inner.argv = argv;
    bwrapArgv = [bwrap, ...plan.args, ...inner.self, "--spec-fd", "3"];
    const pre = opts.prelaunched;
    if (pre && pre.argv.length === bwrapArgv.length && pre.argv.every((a, i) => a === bwrapArgv[i])) {
      debugSpan("prelaunched bwrap kept");
      child = pre.child;
      specFd = pre.specFd;
      usedPrelaunch = true;
    } else {
      if (pre) await pre.abandon();
      debugSpan("spawning bwrap");
      child = spawnBwrap(bwrapArgv, stdio);
      specFd = (child as unknown as { stdio: unknown[] }).stdio[3] as number;
    }
    if (typeof specFd !== "number") throw new Error("no spec channel to the sandbox (fd 3)");

    // 2. Meanwhile: the late part of the spec.
    const { env, ports = [] } = opts.late ? await opts.late() : { env: spec.env };
    const extra = ports.filter((p) => !inner.bridged_ports.includes(p));
    inner.bridged_ports = [...inner.bridged_ports, ...extra];
    inner.connect_tcp_ports = [...new Set([...inner.connect_tcp_ports, ...extra])];
    inner.env = opts.setProxyEnv === false ? env : { ...env, ...proxyEnv(spec.egress.proxy_port) };

    // 3. Hand the spec over; the step restricts itself and execve's.
    await writeAll(specFd, JSON.stringify(inner));
    closeSync(specFd);
    specFd = undefined;

    // 4. The host side of the bridge — the egress proxy and the forwarders to the gateway, the hook
    // governor and the MCP brokers — starts while the command does: the in-namespace bridge waits
    // for each unix socket to appear (bridge.ts), so an early connection is held, never passed by.
    const [{ startEgressProxy }, { startPortForwarders }] = await Promise.all([import("./egress-proxy.ts"), import("./bridge.ts")]);
    const [proxy, fwd] = await Promise.allSettled([
      startEgressProxy({
        policy,
        unixPath: egressSocket(sockDir),
        resolve: opts.resolve,
        allowPrivate: opts.allowPrivate,
        onEvent: (e) => {
          egress.push(e);
          opts.onEgress?.(e);
        },
      }),
      startPortForwarders(sockDir, inner.bridged_ports, opts.forward),
    ]);
    if (proxy.status === "fulfilled") closers.push(proxy.value.close);
    if (fwd.status === "fulfilled") closers.push(fwd.value.close);
    for (const r of [proxy, fwd]) if (r.status === "rejected") throw r.reason;

    const c = child;
    const exited = c.exited.then(async (code) => {
      debugSpan("sandbox process ended");
      await cleanup();
      return { exitCode: code, signal: c.signalCode == null ? null : String(c.signalCode), egress, duration_ms: performance.now() - t0 };
    });
    return {
      pid: c.pid,
      stdin: (c.stdin as import("bun").FileSink | null) ?? null,
      stdout: (c.stdout as ReadableStream<Uint8Array> | null) ?? null,
      stderr: (c.stderr as ReadableStream<Uint8Array> | null) ?? null,
      exited,
      kill: (sig) => c.kill(sig),
      signal: (sig) => {
        const cmd = commandUnder(c.pid);
        if (!cmd) return c.kill(sig);
        try {
          process.kill(cmd.pid, sig);
        } catch {
          // it ended meanwhile
        }
      },
      commandPid: () => commandUnder(c.pid)?.pid,
      masked: plan.masked,
      argv: bwrapArgv,
      prelaunched: usedPrelaunch,
      dirs: { sockDir, maskFile },
    };
  } catch (e) {
    // Fail closed: the step gets no spec (EOF), refuses to run, and is killed anyway.
    if (opts.prelaunched && !usedPrelaunch) await opts.prelaunched.abandon();
    if (specFd !== undefined) closeSync(specFd);
    if (child) {
      child.kill("SIGKILL");
      await child.exited.catch(() => undefined);
    }
    await cleanup();
    throw e;
  }
}

/** Write all of `text` to a (possibly non-blocking) descriptor. */
async function writeAll(fd: number, text: string): Promise<void> {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      await new Promise((r) => setTimeout(r, 1));
    }
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
