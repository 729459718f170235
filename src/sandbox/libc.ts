/**
 * The few libc calls the kernel ring needs, through bun:ffi: raw `syscall` (Landlock, seccomp,
 * setres[ug]id), `prctl`, `open`/`close`, `execve`, and errno. Loaded lazily so importing the
 * sandbox on macOS or under Node does not fail until a confining call is actually made.
 *
 * Syscall numbers differ per architecture; only x86_64 and aarch64 are supported (the others
 * make `sys()` throw, and the caller refuses to run unconfined).
 */
import { dlopen, FFIType, ptr, CString, read } from "bun:ffi";

export interface ArchInfo {
  /** AUDIT_ARCH_* value seccomp sees in seccomp_data.arch */
  audit_arch: number;
  nr: Record<"landlock_create_ruleset" | "landlock_add_rule" | "landlock_restrict_self" | "seccomp" | "socket" | "ioctl" | "io_uring_setup" | "io_uring_enter" | "io_uring_register" | "setresuid" | "setresgid" | "setgroups", number>;
  /** x86_64 only: syscalls with this bit are the x32 ABI, refused by the seccomp filter */
  x32_bit?: number;
}

const ARCHES: Record<string, ArchInfo> = {
  x64: {
    audit_arch: 0xc000003e,
    nr: { landlock_create_ruleset: 444, landlock_add_rule: 445, landlock_restrict_self: 446, seccomp: 317, socket: 41, ioctl: 16, io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427, setresuid: 117, setresgid: 119, setgroups: 116 },
    x32_bit: 0x40000000,
  },
  arm64: {
    audit_arch: 0xc00000b7,
    nr: { landlock_create_ruleset: 444, landlock_add_rule: 445, landlock_restrict_self: 446, seccomp: 277, socket: 198, ioctl: 29, io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427, setresuid: 147, setresgid: 149, setgroups: 159 },
  },
};

/** Syscall table for this process's architecture, or null when unsupported. */
export function archInfo(): ArchInfo | null {
  if (process.platform !== "linux") return null;
  return ARCHES[process.arch] ?? null;
}

type Lib = ReturnType<typeof load>;
let lib: Lib | null = null;

function load() {
  const i64 = FFIType.i64;
  return dlopen("libc.so.6", {
    syscall: { args: [i64, i64, i64, i64, i64, i64, i64], returns: i64 },
    prctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
    open: { args: [FFIType.ptr, FFIType.i32, FFIType.u32], returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    chdir: { args: [FFIType.ptr], returns: FFIType.i32 },
    strerror: { args: [FFIType.i32], returns: FFIType.ptr },
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    listen: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    signal: { args: [FFIType.i32, FFIType.u64], returns: FFIType.u64 },
    sigprocmask: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  }).symbols;
}

export function libc(): Lib {
  if (lib) return lib;
  if (process.platform !== "linux") throw new Error("the kernel ring needs Linux");
  lib = load();
  return lib;
}

export function errno(): number {
  const p = libc().__errno_location();
  return p ? read.i32(p, 0) : 0;
}

export function strerror(code: number): string {
  const p = libc().strerror(code);
  return p ? new CString(p).toString() : `errno ${code}`;
}

/** A failed libc/syscall call, with the errno name the kernel gave. */
export class SysError extends Error {
  constructor(readonly call: string, readonly errno: number) {
    super(`${call} failed: ${strerror(errno)} (errno ${errno})`);
  }
}

/** Raw syscall; returns the result or throws SysError. Args are numbers or pointers (as numbers). */
export function sys(name: keyof ArchInfo["nr"], ...args: Array<number | bigint>): number {
  const arch = archInfo();
  if (!arch) throw new Error(`unsupported architecture ${process.arch} for the kernel ring`);
  const a = [...args.map((x) => BigInt(x)), 0n, 0n, 0n, 0n, 0n, 0n].slice(0, 6) as [bigint, bigint, bigint, bigint, bigint, bigint];
  const r = Number(libc().syscall(BigInt(arch.nr[name]), ...a));
  if (r < 0) throw new SysError(name, errno());
  return r;
}

/** Like sys(), but returns -errno instead of throwing. */
export function sysRaw(name: keyof ArchInfo["nr"], ...args: Array<number | bigint>): number {
  try {
    return sys(name, ...args);
  } catch (e) {
    if (e instanceof SysError) return -e.errno;
    throw e;
  }
}

export const cstr = (s: string): Buffer => Buffer.from(`${s}\0`, "utf8");

/** A NULL-terminated array of C string pointers; keep `keep` alive until the call returns. */
export function cstrArray(items: string[]): { array: BigUint64Array; keep: Buffer[] } {
  const keep = items.map(cstr);
  const array = new BigUint64Array(items.length + 1);
  keep.forEach((b, i) => {
    array[i] = BigInt(ptr(b));
  });
  array[items.length] = 0n;
  return { array, keep };
}

export const PR_SET_NO_NEW_PRIVS = 38;
export const PR_GET_NO_NEW_PRIVS = 39;

export function setNoNewPrivs(): void {
  if (libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) !== 0) throw new SysError("prctl(PR_SET_NO_NEW_PRIVS)", errno());
}

export const O_PATH = 0o10000000;
export const O_CLOEXEC = 0o2000000;

/** open(path, O_PATH | O_CLOEXEC): a handle for a Landlock path rule. */
export function openPath(path: string): number {
  const fd = libc().open(cstr(path), O_PATH | O_CLOEXEC, 0);
  if (fd < 0) throw new SysError(`open(${path})`, errno());
  return fd;
}

export function closeFd(fd: number): void {
  libc().close(fd);
}

/**
 * A listening TCP socket on 127.0.0.1:port, made with raw syscalls so it can be created before
 * the process that serves it starts (connections queue in the backlog meanwhile). CLOEXEC: it
 * reaches only the child it is explicitly passed to.
 */
export function listenLoopbackTcp(port: number): number {
  const c = libc();
  const SOCK_STREAM = 1;
  const fd = c.socket(2, SOCK_STREAM | O_CLOEXEC, 0);
  if (fd < 0) throw new SysError("socket", errno());
  const one = new Int32Array([1]);
  c.setsockopt(fd, 1 /* SOL_SOCKET */, 2 /* SO_REUSEADDR */, ptr(one), 4);
  const sa = Buffer.alloc(16);
  sa.writeUInt16LE(2, 0);
  sa.writeUInt16BE(port, 2);
  sa.writeUInt32BE(0x7f000001, 4);
  if (c.bind(fd, ptr(sa), 16) !== 0) {
    const e = errno();
    c.close(fd);
    throw new SysError(`bind(127.0.0.1:${port})`, e);
  }
  if (c.listen(fd, 512) !== 0) {
    const e = errno();
    c.close(fd);
    throw new SysError("listen", e);
  }
  return fd;
}

/** Before execve: default signal dispositions (an ignored SIGPIPE would be inherited) and an empty mask. */
export function resetSignals(): void {
  const c = libc();
  for (let s = 1; s < 32; s++) if (s !== 9 && s !== 19) c.signal(s, 0);
  const empty = new Uint8Array(128);
  c.sigprocmask(2 /* SIG_SETMASK */, ptr(empty), null);
}

/** execve(path, argv, env). Returns only on failure (throws SysError). */
export function execve(path: string, argv: string[], env: Record<string, string>): never {
  const a = cstrArray(argv);
  const e = cstrArray(Object.entries(env).map(([k, v]) => `${k}=${v}`));
  const p = cstr(path);
  libc().execve(p, a.array, e.array);
  const code = errno();
  // keep the buffers alive until after the call
  void a.keep.length;
  void e.keep.length;
  throw new SysError(`execve(${path})`, code);
}
