/**
 * SandboxSpec: everything the kernel ring needs to confine one command, as plain JSON (it is
 * written to a file the `__exec` step reads). `specFromPolicy` derives it from the Compiled
 * Policy's filesystem and network aspects.
 */
import { existsSync, realpathSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve, sep } from "node:path";
import type { CompiledPolicyPayload } from "../engine/policy/types.ts";
import { inputError } from "../engine/errors.ts";
import { tappassHome } from "../engine/home.ts";
import { isBeneath } from "./paths.ts";

export interface SandboxSpec {
  version: 1;
  fs: {
    /** Readable and executable, beneath each path. */
    read_only: string[];
    /** Readable, writable, creatable, beneath each path. */
    read_write: string[];
    /** Never readable or writable, even inside an allowed tree (masked by an empty mount). */
    deny: string[];
  };
  /** The agent's keyring file: readable, never writable (read-only bind + Landlock). */
  keyring_path: string | null;
  /** TCP ports the agent may connect to (inside its network namespace: the bridged ports). */
  connect_tcp_ports: number[];
  /** TCP ports the agent may bind (default none). */
  bind_tcp_ports: number[];
  /** Host loopback ports (gateway, broker) bridged into the namespace on the same number. */
  bridged_ports: number[];
  egress: {
    mode: "deny" | "allowlist" | "open";
    allow_domains: string[];
    deny_domains: string[];
    /** Port of the egress proxy inside the namespace (HTTP(S)_PROXY points here). */
    proxy_port: number;
  };
  /** The agent's whole environment (nothing else leaks in). */
  env: Record<string, string>;
  cwd: string;
  /** When started as root: setresuid/setresgid to these before execve (a real, non-root uid). */
  uid?: number;
  gid?: number;
  /** Run inside a user namespace as this uid/gid (mapped to the invoking user; no capabilities). */
  userns?: { uid: number; gid: number };
  /** A private, empty /tmp (paths of the spec under /tmp are bound back in). */
  private_tmp: boolean;
  /** Allow socket(AF_UNIX): off by default, since Landlock ABI ≤ 7 cannot restrict unix connects. */
  allow_unix_sockets: boolean;
  /** Refuse signals and abstract unix sockets outside the sandbox (Landlock ABI ≥ 6). */
  scope: boolean;
}

/**
 * Always denied: host secrets under the runtime trees. Matters most when the agent keeps the
 * invoker's root identity inside a user namespace (DAC alone would let it read root-owned files).
 */
export const DEFAULT_DENY = ["/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers", "/etc/sudoers.d", "/etc/ssh/ssh_host_*_key", "/etc/ssl/private"];

/** System trees any program needs to start (read-only). */
export const RUNTIME_READ_ONLY = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/nix/store"];

export interface SpecContext {
  /** Where exec was started; replaces "${cwd}" and is always read-write. */
  workspace: string;
  gatewayPort?: number;
  brokerPort?: number;
  keyringPath?: string | null;
  env?: Record<string, string>;
  /** Home for "~" expansion (default: os.homedir()). */
  home?: string;
  /** Extra read-only paths (e.g. the agent binary's install dir). */
  extraReadOnly?: string[];
  /** Port inside the namespace for the egress proxy (default 3128, moved if taken). */
  proxyPort?: number;
}

/** "~", "$HOME", "${HOME}", "${cwd}", "${workspace}" expansion, then an absolute normalised path. */
export function expandPath(p: string, ctx: { workspace: string; home: string }): string {
  let s = p.trim();
  if (s === "~" || s.startsWith("~/")) s = ctx.home + s.slice(1);
  s = s.replace(/\$\{(cwd|workspace)\}/g, ctx.workspace).replace(/\$\{HOME\}|\$HOME\b/g, ctx.home);
  s = s.replace(/\$\{(\w+)\}/g, (_, v: string) => process.env[v] ?? "");
  return isAbsolute(s) ? resolve(s) : resolve(ctx.workspace, s);
}

const GLOB = /[*?[{]/;

/** Expand a glob pattern against the filesystem (bounded), or return the path itself. */
export function expandGlob(pattern: string, limit = 2000): string[] {
  if (!GLOB.test(pattern)) return [pattern];
  const parts = pattern.split(sep);
  const firstGlob = parts.findIndex((x) => GLOB.test(x));
  const base = parts.slice(0, firstGlob).join(sep) || sep;
  const rest = parts.slice(firstGlob).join("/");
  if (!existsSync(base)) return [];
  const out: string[] = [];
  try {
    for (const m of new Bun.Glob(rest).scanSync({ cwd: base, onlyFiles: false, dot: true, followSymlinks: false })) {
      out.push(join(base, m));
      if (out.length >= limit) break;
    }
  } catch {
    // unreadable subtrees are skipped: they are unreadable to the agent as well
  }
  return out;
}

export { isBeneath } from "./paths.ts";

const uniq = (xs: string[]) => [...new Set(xs)];

/** Derive the SandboxSpec from a Compiled Policy payload. */
export function specFromPolicy(policy: CompiledPolicyPayload, ctx: SpecContext): SandboxSpec {
  const workspace = resolve(ctx.workspace);
  const home = ctx.home ?? homedir();
  const x = (p: string) => expandPath(p, { workspace, home });
  const fsAspect = policy.filesystem;
  const policyWorkspace = x(fsAspect.workspace || "${cwd}");

  const deny = uniq([...[...DEFAULT_DENY, ...fsAspect.deny_paths].map(x).flatMap((p) => expandGlob(p)), tappassHome()]).filter((d) => !(ctx.keyringPath && resolve(ctx.keyringPath) === d));
  // "/tmp" in the policy means "a writable /tmp": the sandbox's private one, never the host's
  // (the host /tmp holds other sessions' files and sockets).
  const read_write = uniq([policyWorkspace, ...fsAspect.read_write.map(x)]).filter((p) => p !== "/tmp");
  const read_only = uniq([...RUNTIME_READ_ONLY, ...fsAspect.read_only.map(x), ...(ctx.extraReadOnly ?? [])]);

  // The ring gives the agent a private, empty /tmp: the host's /tmp itself (other users' and
  // sessions' files and sockets) can be neither its workspace nor shown to it read-only.
  let realWorkspace = policyWorkspace;
  try {
    realWorkspace = realpathSync(policyWorkspace);
  } catch {}
  if (realWorkspace === "/tmp") {
    throw inputError("sandbox_workspace_tmp", `the workspace is ${policyWorkspace === "/tmp" ? "/tmp" : `${policyWorkspace} (/tmp)`} itself, which the kernel ring replaces with a private, empty /tmp`, {
      hint: "run from a directory of its own (e.g. mkdir -p /tmp/work && cd /tmp/work), or pass --no-kernel",
    });
  }
  for (const d of deny) {
    if (isBeneath(policyWorkspace, d)) {
      throw inputError("sandbox_workspace_denied", `the workspace ${policyWorkspace} is inside the denied path ${d}`, {
        hint: "run from another directory or remove the path from filesystem.deny_paths",
      });
    }
  }

  const ports = [ctx.gatewayPort, ctx.brokerPort].filter((p): p is number => typeof p === "number" && p > 0);
  let proxyPort = ctx.proxyPort ?? 3128;
  while (ports.includes(proxyPort)) proxyPort++;
  const net = policy.network;
  const env = { ...(ctx.env ?? {}) };

  const spec: SandboxSpec = {
    version: 1,
    fs: { read_only, read_write, deny },
    keyring_path: ctx.keyringPath ? resolve(ctx.keyringPath) : null,
    connect_tcp_ports: uniq([...ports, proxyPort].map(String)).map(Number),
    bind_tcp_ports: [],
    bridged_ports: ports,
    egress: {
      mode: net.egress,
      allow_domains: net.egress === "deny" ? [] : [...net.allow_domains],
      deny_domains: [...net.deny_domains],
      proxy_port: proxyPort,
    },
    env,
    cwd: policyWorkspace,
    private_tmp: true,
    allow_unix_sockets: false,
    scope: true,
  };
  Object.assign(spec, identityFor(policyWorkspace));
  return spec;
}

/**
 * Who the agent runs as. As root: the workspace owner when that is not root (setresuid, so the
 * agent's files belong to the user), otherwise uid 1000 inside a user namespace mapped to root
 * with no capabilities (it can write the root-owned workspace; Landlock and the mounts bound it).
 * As a normal user: a user namespace mapped to that user (needed for the network namespace).
 */
export function identityFor(workspace: string): Pick<SandboxSpec, "uid" | "gid" | "userns"> {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  if (uid !== 0) return { userns: { uid, gid } };
  let owner = { uid: 0, gid: 0 };
  try {
    const st = statSync(existsSync(workspace) ? workspace : dirname(workspace));
    owner = { uid: st.uid, gid: st.gid };
  } catch {}
  if (owner.uid !== 0) return { uid: owner.uid, gid: owner.gid };
  return { userns: { uid: 1000, gid: 1000 } };
}

/** Env entries that point HTTP clients at the egress proxy inside the namespace. */
export function proxyEnv(port: number): Record<string, string> {
  const url = `http://127.0.0.1:${port}`;
  const noProxy = "localhost,127.0.0.1,::1";
  return {
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    http_proxy: url,
    https_proxy: url,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
    NODE_USE_ENV_PROXY: "1",
  };
}
