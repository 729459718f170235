/**
 * The `__exec` step: one short-lived process inside the namespaces that
 *   1. starts the bridge (listening sockets made here first, so nothing races it),
 *   2. checks that every denied path inside an allowed tree is masked,
 *   3. sets no_new_privs, applies Landlock, drops to the spec's uid/gid when root,
 *      installs the seccomp filter,
 *   4. execve's the command from this same thread.
 * Any failure before execve exits non-zero with one line on stderr: it never runs the command
 * less confined than the spec says.
 */
import { readFileSync, statSync, accessSync, constants, realpathSync } from "node:fs";
import { delimiter, join } from "node:path";
import { landlockAbi, restrictSelf, READ_ONLY, READ_WRITE, DEVICES, type PathRule } from "./landlock.ts";
import { installSeccomp } from "./seccomp.ts";
import { execve, listenLoopbackTcp, resetSignals, setNoNewPrivs, sys, closeFd } from "./libc.ts";
import type { SandboxSpec } from "./spec.ts";
import type { BridgeListener } from "./bridge.ts";
import { debugSpan } from "./debug.ts";
import { egressSocket, isBeneath, portSocket } from "./paths.ts";

/** What `spawnConfined` adds to the spec for this step. */
export interface InnerSpec extends SandboxSpec {
  /** argv prefix that runs this step again (`… --bridge JSON` starts the bridge). */
  self: string[];
  /** Directory of the bridge's unix sockets (host side). */
  sock_dir: string | null;
  /**
   * The command, when it is not on the step's command line (exec passes it here, so the
   * sandbox's command line depends only on the layout and a prelaunch can start it early).
   */
  argv?: string[];
}

/** Exit codes of this step (126/127 like a shell: cannot execute / not found). */
export const INNER_FAIL = 125;

const span = (what: string) => debugSpan(`__exec ${what}`);

function fail(msg: string, code = INNER_FAIL): never {
  process.stderr.write(`tappass: sandbox: ${msg}\n`);
  process.exit(code);
}

export function resolveExecutable(cmd: string, env: Record<string, string>, cwd: string): string | null {
  const ok = (p: string) => {
    try {
      accessSync(p, constants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (cmd.includes("/")) {
    const p = cmd.startsWith("/") ? cmd : join(cwd, cmd);
    return ok(p) ? p : null;
  }
  for (const dir of (env.PATH ?? "/usr/local/bin:/usr/bin:/bin").split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    if (ok(p)) return p;
  }
  return null;
}

/** Landlock rules for a spec (exported for tests and `exec --explain`). */
export function landlockRules(spec: SandboxSpec, executable?: string): PathRule[] {
  const rules: PathRule[] = [
    ...spec.fs.read_only.map((path) => ({ path, access: READ_ONLY })),
    ...spec.fs.read_write.map((path) => ({ path, access: READ_WRITE })),
    { path: "/proc", access: READ_ONLY },
    { path: "/dev", access: DEVICES },
    { path: "/dev/shm", access: READ_WRITE },
  ];
  if (spec.private_tmp) rules.push({ path: "/tmp", access: READ_WRITE });
  if (spec.keyring_path) rules.push({ path: spec.keyring_path, access: READ_ONLY });
  if (executable) rules.push({ path: executable, access: READ_ONLY });
  return rules;
}

/** Denied paths inside an allowed tree must be masked (an empty, mode-000 mount). */
export function unmaskedDenies(spec: SandboxSpec): string[] {
  const allowed = [...spec.fs.read_only, ...spec.fs.read_write, ...(spec.private_tmp ? ["/tmp"] : []), "/proc", "/dev"];
  const bad: string[] = [];
  for (const d of spec.fs.deny) {
    let real: string;
    try {
      real = realpathSync(d);
    } catch {
      continue; // absent: nothing to read
    }
    if (!allowed.some((a) => isBeneath(real, a))) continue; // Landlock already denies it
    const st = statSync(real);
    const masked = (st.mode & 0o666) === 0 && (st.isDirectory() || st.size === 0);
    if (!masked) bad.push(d);
  }
  return bad;
}

function startBridgeChild(spec: InnerSpec): void {
  if (!spec.sock_dir) return;
  const pairs: Array<{ port: number; unix: string }> = [
    { port: spec.egress.proxy_port, unix: egressSocket(spec.sock_dir) },
    ...spec.bridged_ports.map((port) => ({ port, unix: portSocket(spec.sock_dir as string, port) })),
  ];
  const fds = pairs.map((p) => listenLoopbackTcp(p.port));
  const listeners: BridgeListener[] = pairs.map((p, i) => ({ fd: 3 + i, unix: p.unix }));
  Bun.spawn([...spec.self, "--bridge", JSON.stringify(listeners)], {
    stdio: ["ignore", "ignore", "inherit", ...fds],
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
  });
  for (const fd of fds) closeFd(fd);
}

/** The `__exec --spec-fd N | --spec FILE [-- argv…]` step. Never returns. */
export function runInner(source: { fd: number } | { path: string }, command?: string[]): never {
  if (command?.length === 0) fail("no command given", 2);
  span("started");
  let spec: InnerSpec;
  let text = "";
  try {
    if ("fd" in source) {
      // Blocks until the governor has written the whole spec and closed its end.
      text = readFileSync(source.fd, "utf8");
      closeFd(source.fd);
    } else {
      text = readFileSync(source.path, "utf8");
    }
  } catch (e) {
    fail(`cannot read the sandbox spec: ${(e as Error).message}`);
  }
  span("spec received");
  if (text.length === 0) fail("no sandbox spec received (the governor stopped before handing it over); refusing to run");
  try {
    spec = JSON.parse(text) as InnerSpec;
  } catch (e) {
    fail(`the sandbox spec is not valid JSON: ${(e as Error).message}`);
  }
  if (spec.version !== 1) fail(`unsupported sandbox spec version ${String(spec.version)}`);
  if (!landlockAbi()) fail("Landlock is not available on this kernel; refusing to run unconfined");
  const argv = command ?? spec.argv ?? [];
  if (argv.length === 0 || !argv.every((a) => typeof a === "string")) fail("no command given", 2);
  const cmd = argv[0] as string;
  const exe = resolveExecutable(cmd, spec.env, spec.cwd);
  if (!exe) fail(`${cmd}: command not found`, 127);
  const unmasked = unmaskedDenies(spec);
  if (unmasked.length) fail(`denied path(s) not masked by the namespace layer: ${unmasked.join(", ")}; refusing to run`);

  span("checked");
  try {
    startBridgeChild(spec);
    span("bridge started");
    setNoNewPrivs();
    restrictSelf({ paths: landlockRules(spec, exe), connect_tcp: spec.connect_tcp_ports, bind_tcp: spec.bind_tcp_ports, scope: spec.scope });
    if (process.getuid?.() === 0 && spec.uid !== undefined && spec.uid !== 0) {
      const gid = spec.gid ?? spec.uid;
      sys("setgroups", 0, 0);
      sys("setresgid", gid, gid, gid);
      sys("setresuid", spec.uid, spec.uid, spec.uid);
    }
    span("landlocked");
    installSeccomp({ allow_unix_sockets: spec.allow_unix_sockets });
    resetSignals();
    span("seccomp installed");
  } catch (e) {
    fail((e as Error).message);
  }
  try {
    execve(exe, argv, spec.env);
  } catch (e) {
    fail((e as Error).message, 126);
  }
}

/** The `__exec --bridge JSON` step: serve the bridge until the namespace goes away. */
export async function runBridge(listenersJson: string): Promise<void> {
  const listeners = JSON.parse(listenersJson) as BridgeListener[];
  process.on("SIGINT", () => {});
  process.on("SIGTERM", () => process.exit(0));
  const { startBridge } = await import("./bridge.ts");
  await startBridge(listeners);
}
