/**
 * Passing a signal to the command inside the sandbox. bwrap does not forward signals: a SIGTERM
 * to it ends bwrap at once and --die-with-parent then SIGKILLs the command, which never gets to
 * clean up. So the signal goes to the command itself — the first process below bwrap's own that
 * is not bwrap (in a pid namespace, bwrap runs as the namespace's init under its monitor).
 */
import { readdirSync, readFileSync } from "node:fs";

interface Stat {
  pid: number;
  ppid: number;
  pgrp: number;
  comm: string;
}

function stat(pid: number): Stat | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = s.lastIndexOf(")");
    const rest = s.slice(close + 2).split(" ");
    return { pid, comm: s.slice(s.indexOf("(") + 1, close), ppid: Number(rest[1]), pgrp: Number(rest[2]) };
  } catch {
    return undefined;
  }
}

/** The command bwrap (pid `root`) runs: its first descendant that is not bwrap. */
export function commandUnder(root: number): Stat | undefined {
  const children = new Map<number, Stat[]>();
  for (const d of readdirSync("/proc")) {
    const pid = Number(d);
    if (!Number.isInteger(pid)) continue;
    const s = stat(pid);
    if (!s) continue;
    const list = children.get(s.ppid) ?? [];
    list.push(s);
    children.set(s.ppid, list);
  }
  const queue = [...(children.get(root) ?? [])];
  while (queue.length) {
    const s = queue.shift() as Stat;
    if (s.comm !== "bwrap") return s;
    queue.push(...(children.get(s.pid) ?? []));
  }
  return undefined;
}

/** The command signals are relayed to: its pid (undefined once it is gone), a signal, and the kill. */
export interface SignalTarget {
  pid: () => number | undefined;
  kill: (sig: NodeJS.Signals) => void;
  forceKill: () => void;
}

/**
 * Relay SIGINT, SIGTERM and SIGHUP sent to this process to the command, instead of dying of them,
 * until `stop`. Start it before the command exists (a signal may come as soon as it runs): what
 * arrives before `attach` is passed on when the command is attached. As sudo does, a signal the
 * command's own process group already received (Ctrl-C at a terminal reaches the whole
 * foreground group) is not sent twice: SIGINT is relayed only to a command in another process
 * group. A third signal kills it.
 */
export function relaySignals(log: (line: string) => void = () => {}): { attach: (t: SignalTarget) => void; stop: () => void } {
  let count = 0;
  let target: SignalTarget | undefined;
  let held: NodeJS.Signals | "kill" | undefined;
  const own = stat(process.pid)?.pgrp;
  const handlers: Array<[NodeJS.Signals, () => void]> = [];
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const h = () => {
      if (++count >= 3) {
        log(`tappass: ${sig} a third time: killing the command`);
        if (target) target.forceKill();
        else held = "kill";
        return;
      }
      if (!target) {
        held ??= sig;
        return;
      }
      const pid = target.pid();
      const pgrp = pid ? stat(pid)?.pgrp : undefined;
      if (sig === "SIGINT" && pgrp !== undefined && pgrp === own) return; // the terminal sent it to the command too
      target.kill(sig);
    };
    process.on(sig, h);
    handlers.push([sig, h]);
  }
  return {
    attach(t) {
      target = t;
      if (held === "kill") t.forceKill();
      else if (held) t.kill(held);
    },
    stop() {
      for (const [sig, h] of handlers) process.off(sig, h);
    },
  };
}
