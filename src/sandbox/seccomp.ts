/**
 * A seccomp-BPF filter for the agent, installed in `__exec` right before execve:
 *  - socket(): only AF_INET / AF_INET6 with SOCK_STREAM and protocol 0 or IPPROTO_TCP.
 *    Landlock covers TCP only, so this is what stops UDP (DNS exfiltration), raw, packet,
 *    netlink and SCTP/MPTCP sockets. AF_UNIX socket() is refused too unless the spec allows it
 *    (Landlock ABI ≤ 7 does not govern connecting to a pathname unix socket); socketpair()
 *    stays allowed, which is what runtimes use for child-process pipes.
 *  - io_uring_setup/enter/register: refused (io_uring can open sockets without socket()).
 *  - ioctl(TIOCSTI / TIOCLINUX): refused (typing into the user's terminal).
 *  - any other architecture (i386 via int 0x80, x32): the process is killed.
 * Everything else is allowed; Landlock and the namespaces carry the rest.
 */
import { readFileSync } from "node:fs";
import { ptr } from "bun:ffi";
import { archInfo, setNoNewPrivs, sys } from "./libc.ts";

const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const AF_NETLINK = 16;
const SOCK_STREAM = 1;
const IPPROTO_TCP = 6;
const TIOCSTI = 0x5412;
const TIOCLINUX = 0x541c;
const EACCES = 13;
const EPERM = 1;
const EAFNOSUPPORT = 97;

const RET_KILL_PROCESS = 0x80000000;
const RET_ERRNO = 0x00050000;
const RET_ALLOW = 0x7fff0000;

// BPF opcodes
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const AND_K = 0x54;
const RET_K = 0x06;

// seccomp_data offsets
const OFF_NR = 0;
const OFF_ARCH = 4;
const argLo = (i: number) => 16 + 8 * i;

export interface SeccompOptions {
  /** Allow socket(AF_UNIX, …) (connecting to pathname/abstract unix sockets). Default false. */
  allow_unix_sockets?: boolean;
  /** Allow socket(AF_NETLINK, …, NETLINK_ROUTE) (getifaddrs). Default false. */
  allow_netlink_route?: boolean;
}

type Insn = { code: number; jt: number; jf: number; k: number };

/** The filter as BPF instructions (exported for tests and `--explain` output). */
export function buildFilter(opts: SeccompOptions = {}): Insn[] {
  const arch = archInfo();
  if (!arch) throw new Error(`seccomp: unsupported architecture ${process.arch}`);
  // Labels are resolved in a second pass: jumps reference names.
  type L = { code: number; k: number; jt?: string; jf?: string } | { label: string };
  const p: L[] = [];
  const stmt = (code: number, k: number) => p.push({ code, k });
  const jeq = (k: number, jt: string, jf?: string) => p.push({ code: JEQ_K, k, jt, jf });
  const label = (name: string) => p.push({ label: name });
  const errno = (e: number) => stmt(RET_K, RET_ERRNO | e);

  stmt(LD_W_ABS, OFF_ARCH);
  jeq(arch.audit_arch, "arch_ok");
  stmt(RET_K, RET_KILL_PROCESS);
  label("arch_ok");
  stmt(LD_W_ABS, OFF_NR);
  if (arch.x32_bit) {
    p.push({ code: JGE_K, k: arch.x32_bit, jt: "eperm" });
  }
  jeq(arch.nr.socket, "socket");
  jeq(arch.nr.io_uring_setup, "eperm");
  jeq(arch.nr.io_uring_enter, "eperm");
  jeq(arch.nr.io_uring_register, "eperm");
  jeq(arch.nr.ioctl, "ioctl");
  stmt(RET_K, RET_ALLOW);

  label("ioctl");
  stmt(LD_W_ABS, argLo(1));
  jeq(TIOCSTI, "eperm");
  jeq(TIOCLINUX, "eperm");
  stmt(RET_K, RET_ALLOW);

  label("socket");
  stmt(LD_W_ABS, argLo(0));
  jeq(AF_INET, "inet");
  jeq(AF_INET6, "inet");
  if (opts.allow_unix_sockets) jeq(AF_UNIX, "allow");
  else jeq(AF_UNIX, "eacces");
  if (opts.allow_netlink_route) jeq(AF_NETLINK, "netlink");
  errno(EAFNOSUPPORT);
  label("inet");
  stmt(LD_W_ABS, argLo(1));
  stmt(AND_K, 0xf); // strip SOCK_NONBLOCK / SOCK_CLOEXEC
  jeq(SOCK_STREAM, "inet_stream", "eacces");
  label("inet_stream");
  stmt(LD_W_ABS, argLo(2));
  jeq(0, "allow");
  jeq(IPPROTO_TCP, "allow", "eacces");
  if (opts.allow_netlink_route) {
    label("netlink");
    stmt(LD_W_ABS, argLo(2));
    jeq(0, "allow", "eacces");
  }
  label("eacces");
  errno(EACCES);
  label("eperm");
  errno(EPERM);
  label("allow");
  stmt(RET_K, RET_ALLOW);

  const at = new Map<string, number>();
  let n = 0;
  for (const x of p) {
    if ("label" in x) at.set(x.label, n);
    else n++;
  }
  const out: Insn[] = [];
  for (const x of p) {
    if ("label" in x) continue;
    const i = out.length;
    const rel = (name?: string) => {
      if (!name) return 0;
      const target = at.get(name);
      if (target === undefined) throw new Error(`seccomp: no label ${name}`);
      const off = target - i - 1;
      if (off < 0 || off > 255) throw new Error(`seccomp: jump to ${name} out of range (BPF jumps only forward)`);
      return off;
    };
    out.push({ code: x.code, k: x.k >>> 0, jt: rel(x.jt), jf: rel(x.jf) });
  }
  return out;
}

const SECCOMP_SET_MODE_FILTER = 1;

/** Install the filter on the calling thread (sets no_new_privs first). Throws on failure. */
export function installSeccomp(opts: SeccompOptions = {}): { instructions: number } {
  const prog = buildFilter(opts);
  const filter = Buffer.alloc(prog.length * 8);
  prog.forEach((x, i) => {
    filter.writeUInt16LE(x.code, i * 8);
    filter.writeUInt8(x.jt, i * 8 + 2);
    filter.writeUInt8(x.jf, i * 8 + 3);
    filter.writeUInt32LE(x.k, i * 8 + 4);
  });
  // struct sock_fprog { unsigned short len; struct sock_filter *filter; } — 16 bytes on 64-bit
  const fprog = Buffer.alloc(16);
  fprog.writeUInt16LE(prog.length, 0);
  fprog.writeBigUInt64LE(BigInt(ptr(filter)), 8);
  setNoNewPrivs();
  sys("seccomp", SECCOMP_SET_MODE_FILTER, 0, ptr(fprog));
  return { instructions: prog.length };
}

/** Whether this kernel accepts seccomp filters (checked without installing one). */
export function seccompAvailable(): boolean {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    return /^Seccomp:\s*\d/m.test(status) && archInfo() !== null;
  } catch {
    return false;
  }
}
