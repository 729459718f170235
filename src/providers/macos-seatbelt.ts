/**
 * macOS Seatbelt (`sandbox-exec`) profile: the filesystem and network aspects as an SBPL
 * profile, deny-by-default, for running an agent on a Mac where TapPass's kernel ring (Linux:
 * Landlock, seccomp, namespaces) does not exist. Rendered, not tested here (no macOS machine):
 * `sh macos-seatbelt/run.sh claude …` runs a command under it.
 *
 * SBPL evaluates rules in order and the LAST matching rule wins, so the profile goes:
 * deny everything → what any program needs to start → the policy's read-only and read-write
 * trees → the denied paths (last, so a denial inside an allowed tree holds).
 * Paths under /etc, /tmp and /var are also given as /private/… (what they resolve to on macOS,
 * and Seatbelt matches resolved paths). Network: only the TapPass endpoints on loopback (the
 * gateway, the hook governor, brokered MCP servers) — Seatbelt cannot filter by domain, so an
 * allow-list policy reaches its domains only through the egress proxy, never directly; an
 * "open" policy allows outbound traffic.
 */
import { dirname } from "node:path";
import type { Provider, RenderCapabilities } from "./types.ts";
import { deniedPaths, expandPath, shellJoin, uniq } from "./util.ts";

/** System trees a program needs to start on macOS (dyld cache, frameworks, shells, locale). */
const SYSTEM_READ = ["/usr", "/bin", "/sbin", "/System", "/Library", "/private/etc", "/private/var/db/timezone", "/private/var/folders", "/opt/homebrew", "/dev"];

/** /etc, /tmp and /var are symlinks into /private on macOS. */
const withPrivate = (p: string): string[] => (/^\/(etc|tmp|var)(\/|$)/.test(p) ? [p, `/private${p}`] : [p]);

/** An SBPL string literal. */
const str = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

/** A policy path (maybe a glob) → SBPL filters: `X/**` and plain paths are subpaths, other globs regexes. */
function filters(p: string): string[] {
  const path = p.endsWith("/**") ? p.slice(0, -3) || "/" : p;
  return withPrivate(path).map((x) => {
    if (!/[*?[]/.test(x)) return `(subpath ${str(x)})`;
    const re = x.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*\*/g, "\u0000").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]").replace(/\u0000/g, ".*");
    return `(regex ${str(`^${re}(/.*)?$`)})`;
  });
}

/** Loopback ports of the TapPass endpoints the agent must reach. */
function loopbackPorts(caps: RenderCapabilities): number[] {
  const urls = [caps.gatewayUrl, caps.hookUrl, ...Object.values(caps.mcpServers ?? {}).map((s) => ("url" in s ? s.url : undefined))];
  const ports: number[] = [];
  for (const u of urls) {
    if (!u) continue;
    try {
      const url = new URL(u);
      if (["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) ports.push(Number(url.port || (url.protocol === "https:" ? 443 : 80)));
    } catch {}
  }
  return uniq(ports).sort((a, b) => a - b);
}

const rule = (verb: "allow" | "deny", ops: string, fs: string[]) => (fs.length ? [`(${verb} ${ops}`, ...uniq(fs).map((f) => `  ${f}`), ")"] : []);

export const macosSeatbelt: Provider = {
  id: "macos-seatbelt",
  description: "macOS sandbox-exec (Seatbelt) profile",
  render(policy, caps) {
    const x = (p: string) => expandPath(p, caps);
    const readWrite = uniq([caps.workspace, ...policy.filesystem.read_write.map(x)]).sort();
    const tappassDirs = uniq(caps.agentCommand.filter((a) => a.startsWith("/")).map((a) => dirname(a))).sort();
    const readOnly = uniq([...policy.filesystem.read_only.map(x), ...tappassDirs]).sort();
    const ports = loopbackPorts(caps);
    const open = policy.network.egress === "open";
    const lines = [
      `; Rendered by TapPass from policy v${policy.policy_version} for agent ${policy.agent}. Run: sandbox-exec -f tappass.sb COMMAND`,
      "(version 1)",
      "(deny default)",
      "",
      "; processes: run programs, see and signal only this sandbox's own",
      "(allow process-exec process-fork)",
      "(allow signal (target same-sandbox))",
      "(allow process-info* (target same-sandbox))",
      "(allow sysctl-read)",
      "(allow mach-lookup",
      '  (global-name "com.apple.system.opendirectoryd.libinfo")',
      '  (global-name "com.apple.system.notification_center")',
      '  (global-name "com.apple.logd")',
      '  (global-name "com.apple.trustd.agent")',
      '  (global-name "com.apple.SecurityServer"))',
      "(allow ipc-posix-shm-read-data ipc-posix-shm-write-data)",
      "",
      "; what any program needs to start, and the path up to every allowed tree",
      '(allow file-read-metadata (literal "/") (literal "/private") (literal "/private/var"))',
      ...rule("allow", "file-read*", SYSTEM_READ.map((p) => `(subpath ${str(p)})`)),
      '(allow file-write-data (literal "/dev/null") (literal "/dev/tty"))',
      "",
      "; filesystem.read_only (and TapPass itself, for the hook)",
      ...rule("allow", "file-read*", readOnly.flatMap(filters)),
      "",
      "; the workspace and filesystem.read_write",
      ...rule("allow", "file-read* file-write*", readWrite.flatMap(filters)),
      "",
      open ? "; network: egress is open" : "; network: only TapPass on loopback (the gateway, the hook governor, brokered MCP servers)",
      ...(open
        ? ["(allow network-outbound)", '(allow network-outbound (literal "/private/var/run/mDNSResponder"))']
        : ports.map((p) => `(allow network-outbound (remote tcp "localhost:${p}"))`)),
      "",
      "; filesystem.deny_paths and tools.forbidden_zones: last, so they win inside allowed trees",
      ...rule("deny", "file-read* file-write*", deniedPaths(policy, caps).flatMap(filters)),
      "",
    ];
    return [
      { path: "macos-seatbelt/tappass.sb", content: lines.join("\n") },
      {
        path: "macos-seatbelt/run.sh",
        content: `#!/bin/sh\n# Rendered by TapPass from policy v${policy.policy_version}: runs a command under the Seatbelt profile beside this file.\nexec ${shellJoin(["sandbox-exec", "-f"])} "$(dirname "$0")/tappass.sb" "$@"\n`,
        mode: 0o755,
      },
    ];
  },
};
