/**
 * Landlock (kernel ≥ 5.13) through bun:ffi: probe the ABI, build a ruleset from read-only /
 * read-write path lists and allowed TCP ports, and restrict the calling thread.
 *
 * Landlock binds only the calling thread, so `restrictSelf` must run in the short-lived
 * `__exec` process right before execve (inner.ts) — never in the long-running governor.
 * Landlock is allow-list only: paths without a rule are denied; denied paths *inside* an
 * allowed tree are masked by the namespace layer (see netns.ts).
 */
import { statSync } from "node:fs";
import { ptr } from "bun:ffi";
import { closeFd, openPath, sys, sysRaw, SysError, archInfo } from "./libc.ts";

export const FS = {
  EXECUTE: 1n << 0n,
  WRITE_FILE: 1n << 1n,
  READ_FILE: 1n << 2n,
  READ_DIR: 1n << 3n,
  REMOVE_DIR: 1n << 4n,
  REMOVE_FILE: 1n << 5n,
  MAKE_CHAR: 1n << 6n,
  MAKE_DIR: 1n << 7n,
  MAKE_REG: 1n << 8n,
  MAKE_SOCK: 1n << 9n,
  MAKE_FIFO: 1n << 10n,
  MAKE_BLOCK: 1n << 11n,
  MAKE_SYM: 1n << 12n,
  REFER: 1n << 13n, // ABI 2
  TRUNCATE: 1n << 14n, // ABI 3
  IOCTL_DEV: 1n << 15n, // ABI 5
} as const;
export const NET = { BIND_TCP: 1n << 0n, CONNECT_TCP: 1n << 1n } as const; // ABI 4
export const SCOPE = { ABSTRACT_UNIX_SOCKET: 1n << 0n, SIGNAL: 1n << 1n } as const; // ABI 6

const RULE_PATH_BENEATH = 1;
const RULE_NET_PORT = 2;
const CREATE_RULESET_VERSION = 1;

/** Rights that make sense on a regular file (others make add_rule fail with EINVAL). */
const FILE_RIGHTS = FS.EXECUTE | FS.WRITE_FILE | FS.READ_FILE | FS.TRUNCATE | FS.IOCTL_DEV;

/** All filesystem rights a given ABI knows. */
export function fsRightsForAbi(abi: number): bigint {
  let all = (1n << 13n) - 1n;
  if (abi >= 2) all |= FS.REFER;
  if (abi >= 3) all |= FS.TRUNCATE;
  if (abi >= 5) all |= FS.IOCTL_DEV;
  return all;
}

export const READ_ONLY = FS.EXECUTE | FS.READ_FILE | FS.READ_DIR;
export const READ_WRITE =
  READ_ONLY | FS.WRITE_FILE | FS.REMOVE_DIR | FS.REMOVE_FILE | FS.MAKE_DIR | FS.MAKE_REG | FS.MAKE_SOCK | FS.MAKE_FIFO | FS.MAKE_SYM | FS.REFER | FS.TRUNCATE | FS.IOCTL_DEV;
/** For device trees (/dev): read and write existing nodes, ioctl them, create nothing. */
export const DEVICES = FS.READ_FILE | FS.WRITE_FILE | FS.READ_DIR | FS.TRUNCATE | FS.IOCTL_DEV;

let abiCache: number | null | undefined;

/** The Landlock ABI version of this kernel, or null when Landlock is absent or disabled. */
export function landlockAbi(): number | null {
  if (abiCache !== undefined) return abiCache;
  if (!archInfo()) return (abiCache = null);
  const r = sysRaw("landlock_create_ruleset", 0, 0, CREATE_RULESET_VERSION);
  abiCache = r > 0 ? r : null; // -ENOSYS: not built, -EOPNOTSUPP: disabled at boot
  return abiCache;
}

export interface PathRule {
  path: string;
  access: bigint;
}

export interface LandlockRules {
  paths: PathRule[];
  /** TCP ports the process may connect to (ABI ≥ 4); every other port is refused. */
  connect_tcp: number[];
  /** TCP ports the process may bind (ABI ≥ 4). */
  bind_tcp: number[];
  /** Refuse signals to, and abstract unix sockets of, processes outside the sandbox (ABI ≥ 6). */
  scope: boolean;
}

export interface AppliedLandlock {
  abi: number;
  handled_fs: bigint;
  handled_net: bigint;
  scoped: bigint;
  /** Paths from the rules that did not exist and so got no rule (they stay denied). */
  missing: string[];
}

/**
 * Build a ruleset and restrict the calling thread (then the caller must execve right away).
 * Needs no_new_privs (or CAP_SYS_ADMIN). Throws when Landlock is unavailable: the caller
 * must never go on unconfined.
 */
export function restrictSelf(rules: LandlockRules): AppliedLandlock {
  const abi = landlockAbi();
  if (!abi) throw new Error("Landlock is not available on this kernel");
  const handled_fs = fsRightsForAbi(abi);
  const handled_net = abi >= 4 ? NET.BIND_TCP | NET.CONNECT_TCP : 0n;
  const scoped = abi >= 6 && rules.scope ? SCOPE.ABSTRACT_UNIX_SOCKET | SCOPE.SIGNAL : 0n;

  const attr = new BigUint64Array([handled_fs, handled_net, scoped]);
  const attrSize = abi >= 6 ? 24 : abi >= 4 ? 16 : 8;
  const rfd = sys("landlock_create_ruleset", ptr(attr), attrSize, 0);
  const missing: string[] = [];
  try {
    // landlock_path_beneath_attr is packed: u64 allowed_access, s32 parent_fd (12 bytes)
    const pb = Buffer.alloc(16);
    for (const rule of rules.paths) {
      let isDir: boolean;
      try {
        isDir = statSync(rule.path).isDirectory();
      } catch {
        missing.push(rule.path);
        continue;
      }
      const access = (isDir ? rule.access : rule.access & FILE_RIGHTS) & handled_fs;
      if (access === 0n) continue;
      const fd = openPath(rule.path);
      try {
        pb.writeBigUInt64LE(access, 0);
        pb.writeInt32LE(fd, 8);
        sys("landlock_add_rule", rfd, RULE_PATH_BENEATH, ptr(pb), 0);
      } catch (e) {
        throw e instanceof SysError ? new Error(`Landlock rule for ${rule.path}: ${e.message}`) : e;
      } finally {
        closeFd(fd);
      }
    }
    if (handled_net) {
      const np = new BigUint64Array(2);
      const add = (port: number, right: bigint) => {
        np[0] = right;
        np[1] = BigInt(port);
        sys("landlock_add_rule", rfd, RULE_NET_PORT, ptr(np), 0);
      };
      for (const p of new Set(rules.connect_tcp)) add(p, NET.CONNECT_TCP);
      for (const p of new Set(rules.bind_tcp)) add(p, NET.BIND_TCP);
    }
    sys("landlock_restrict_self", rfd, 0);
  } finally {
    closeFd(rfd);
  }
  return { abi, handled_fs, handled_net, scoped, missing };
}
