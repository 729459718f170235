/**
 * The namespace layer, built with bubblewrap (Bun is multi-threaded, so it cannot unshare a
 * user namespace itself): a new network namespace (only loopback), a PID namespace (the
 * bridge and every leftover child die with the sandbox), an IPC namespace, a user namespace
 * when needed, a read-only view of `/`, a fresh /dev and /proc, a private /tmp, read-write
 * binds for the writable trees, and MASKS over denied paths.
 *
 * Why masks: Landlock is allow-list only and its rules are inherited down a tree, so
 * "~ readable except ~/.ssh" cannot be said in Landlock without dropping rights on ~ itself
 * (no listing ~, no new files in the workspace root). Instead the denied path is covered by
 * an empty mount: a read-only tmpfs with mode 000 for a directory, an empty mode-000 file
 * for a file. The real bytes are then not in the agent's mount namespace at all — through
 * symlinks, hardlinks made inside the sandbox, /proc/self/root, or any other path — and the
 * agent, having no capabilities, gets EACCES. inner.ts re-checks every mask before execve.
 */
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, sep } from "node:path";
import { isBeneath } from "./paths.ts";
import type { SandboxSpec } from "./spec.ts";

export interface BwrapPlan {
  /** bwrap's arguments, up to and including "--" (append the command). */
  args: string[];
  /** Denied paths that got a mask, with their kind. */
  masked: Array<{ path: string; kind: "dir" | "file" }>;
}

const real = (p: string): string | null => {
  try {
    return realpathSync(p);
  } catch {
    return null;
  }
};

/**
 * Build bwrap's argv for a spec. `sockDir` holds the spec and the bridge's unix sockets
 * (bound read-only); `maskFile` is an empty mode-000 file bound over denied files.
 */
export function bwrapArgs(spec: SandboxSpec, opts: { sockDir: string; maskFile: string }): BwrapPlan {
  const a: string[] = ["--die-with-parent", "--unshare-net", "--unshare-pid", "--unshare-ipc"];
  if (spec.userns) {
    a.push("--unshare-user", "--uid", String(spec.userns.uid), "--gid", String(spec.userns.gid));
  } else if (spec.uid !== undefined) {
    // Root, dropping to a real uid in inner.ts: keep only what the drop needs.
    a.push("--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID");
  }
  a.push("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc");
  if (spec.private_tmp) a.push("--tmpfs", "/tmp");

  const denies = spec.fs.deny.map(real).filter((p): p is string => p !== null);
  const underDeny = (p: string) => denies.some((d) => isBeneath(p, d));
  const exposures = [opts.sockDir, spec.keyring_path].map((p) => (p ? real(p) : null)).filter((p): p is string => p !== null);

  // Directories bwrap has to create on the private /tmp get the host's modes (bwrap's own
  // default, 0700, would lock a dropped uid out of its own workspace).
  const made = new Set<string>();
  const parents = (p: string) => {
    if (!spec.private_tmp || !isBeneath(p, "/tmp")) return;
    const chain: string[] = [];
    for (let d = dirname(p); d !== "/tmp" && d !== "/" && !made.has(d); d = dirname(d)) chain.unshift(d);
    for (const d of chain) {
      made.add(d);
      const mode = (statSync(d).mode & 0o7777).toString(8).padStart(4, "0");
      a.push("--perms", mode, "--dir", d);
    }
  };

  // Binds, outermost first so a nested bind is not hidden by its parent's: writable trees (the
  // root bind is read-only); read-only trees on the private /tmp or nested in a writable tree
  // (Landlock rights only add up, so "read-only inside read-write" needs the mount); the cwd.
  const binds: Array<{ path: string; ro: boolean }> = [];
  const rw = spec.fs.read_write.map(real).filter((p): p is string => p !== null && p !== "/" && !underDeny(p) && !(spec.private_tmp && p === "/tmp"));
  for (const p of rw) binds.push({ path: p, ro: false });
  for (const p of spec.fs.read_only.map(real)) {
    if (!p || underDeny(p)) continue;
    const nestedInRw = rw.some((w) => isBeneath(p, w) && p !== w);
    const onTmp = spec.private_tmp && isBeneath(p, "/tmp") && !rw.some((w) => isBeneath(p, w));
    if (nestedInRw || onTmp) binds.push({ path: p, ro: true });
  }
  const cwd = real(spec.cwd);
  if (cwd && spec.private_tmp && isBeneath(cwd, "/tmp") && !underDeny(cwd) && !binds.some((b) => isBeneath(cwd, b.path))) binds.push({ path: cwd, ro: true });
  const depth = (p: string) => p.split(sep).length;
  for (const b of binds.sort((x, y) => depth(x.path) - depth(y.path))) {
    parents(b.path);
    made.add(b.path);
    a.push(b.ro ? "--ro-bind" : "--bind", b.path, b.path);
  }

  // Masks: outermost denied paths only (an inner one is already covered).
  const masked: BwrapPlan["masked"] = [];
  const remount: string[] = [];
  const sorted = [...new Set(denies)].sort((x, y) => x.length - y.length);
  for (const d of sorted) {
    if (d === "/" || masked.some((m) => isBeneath(d, m.path))) continue;
    // On the private /tmp only bound paths exist; a denied path elsewhere there is already gone.
    if (spec.private_tmp && isBeneath(d, "/tmp") && ![...spec.fs.read_only, ...spec.fs.read_write].some((r) => isBeneath(d, r))) continue;
    const st = statSync(d);
    if (st.isDirectory()) {
      // A directory that must still lead to an exposed path (the keyring, the bridge sockets)
      // is traversable (0111) but not listable; otherwise nothing at all (000).
      const keepsExposure = exposures.some((e) => isBeneath(e, d) && e !== d);
      a.push("--perms", keepsExposure ? "0111" : "0000", "--tmpfs", d);
      remount.push(d);
      masked.push({ path: d, kind: "dir" });
    } else {
      a.push("--ro-bind", opts.maskFile, d);
      masked.push({ path: d, kind: "file" });
    }
  }

  // Exposed paths: the bridge's socket directory and the keyring, always read-only.
  for (const e of exposures) {
    if (!masked.some((m) => isBeneath(e, m.path))) parents(e);
    a.push("--ro-bind", e, e);
  }
  for (const d of remount) a.push("--remount-ro", d);

  a.push("--chdir", spec.cwd, "--");
  return { args: a, masked };
}

/** Path to bubblewrap, or null. */
export function findBwrap(): string | null {
  const fromEnv = process.env.TAPPASS_BWRAP;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  for (const dir of (process.env.PATH ?? "/usr/bin:/bin").split(":").concat(["/usr/bin", "/usr/local/bin"])) {
    const p = `${dir}${sep}bwrap`;
    if (dir && existsSync(p)) return p;
  }
  return null;
}

/** Whether this process may create user namespaces (root always may, if the kernel has them). */
export function userNamespacesAvailable(): boolean {
  const readNum = (p: string): number | null => {
    try {
      return Number(readFileSync(p, "utf8").trim());
    } catch {
      return null;
    }
  };
  const max = readNum("/proc/sys/user/max_user_namespaces");
  if (max === 0) return false;
  if (max === null && !existsSync("/proc/self/ns/user")) return false;
  if (process.getuid?.() === 0) return true;
  if (readNum("/proc/sys/kernel/unprivileged_userns_clone") === 0) return false;
  if (readNum("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") === 1) return false;
  return true;
}

