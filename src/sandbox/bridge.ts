/**
 * Plumbing between the sandbox's network namespace and the host, over unix sockets (the only
 * thing that crosses a network namespace boundary through the filesystem):
 *
 *   agent ─TCP 127.0.0.1:P (netns)─▶ bridge (inside) ─unix sockDir/*.sock─▶ governor (host)
 *          ─▶ egress proxy, or ─TCP 127.0.0.1:P (host)─▶ gateway / broker
 *
 * Inside a fresh namespace 127.0.0.1 is the namespace's own loopback, so the gateway and
 * broker ports are bridged on the same numbers and the agent's base URLs stay unchanged.
 * The in-namespace listeners are created by `__exec` before the bridge starts (so an early
 * connect waits in the backlog) and handed over as file descriptors.
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import { rmSync } from "node:fs";
import { portSocket } from "./paths.ts";

export interface BridgeListener {
  /** An already-listening socket passed in (preferred), or a port to listen on. */
  fd?: number;
  port?: number;
  /** The unix socket every connection is forwarded to. */
  unix: string;
}

function splice(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const end = () => {
    a.destroy();
    b.destroy();
  };
  a.on("error", end);
  b.on("error", end);
  a.on("close", end);
  b.on("close", end);
}

/**
 * Connect to a host-side unix socket, waiting up to `waitMs` for it to appear: the governor hands
 * the spec over first and starts its forwarders and egress proxy while the command starts.
 */
export function connectUnix(path: string, waitMs = 5000): Promise<Socket> {
  const deadline = Date.now() + waitMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = connect({ path });
      s.once("connect", () => {
        s.removeAllListeners("error");
        resolve(s);
      });
      s.once("error", (e: NodeJS.ErrnoException) => {
        if ((e.code === "ENOENT" || e.code === "ECONNREFUSED") && Date.now() < deadline) setTimeout(attempt, 5);
        else reject(e);
      });
    };
    attempt();
  });
}

/** Inside the namespace: accept on loopback, forward to a unix socket. */
export async function startBridge(listeners: BridgeListener[]): Promise<Server[]> {
  return Promise.all(
    listeners.map(
      (l) =>
        new Promise<Server>((resolve, reject) => {
          const s = createServer((c) => {
            c.pause();
            c.on("error", () => c.destroy());
            connectUnix(l.unix).then(
              (u) => {
                if (c.destroyed) u.destroy();
                else {
                  splice(c, u);
                  c.resume();
                }
              },
              () => c.destroy(),
            );
          });
          s.once("error", reject);
          if (l.fd !== undefined) s.listen({ fd: l.fd }, () => resolve(s));
          else s.listen({ port: l.port ?? 0, host: "127.0.0.1" }, () => resolve(s));
        }),
    ),
  );
}

export { egressSocket, portSocket } from "./paths.ts";

/**
 * Where a bridged port leads on the host: the loopback port to connect to, resolved per
 * connection (a server that starts lazily — the gateway, the hook governor — resolves once it
 * listens; a rejection drops the connection, so nothing passes ungoverned).
 */
export type ForwardTarget = () => number | Promise<number>;

/**
 * On the host: one unix socket per bridged port, forwarding to 127.0.0.1:target(). Without a
 * target a port forwards to the same port number on the host.
 */
export async function startPortForwarders(sockDir: string, ports: number[], targets: Record<number, ForwardTarget> = {}): Promise<{ close(): Promise<void> }> {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  for (const port of ports) {
    const path = portSocket(sockDir, port);
    const target = targets[port];
    rmSync(path, { force: true });
    const s = createServer((c) => {
      sockets.add(c);
      c.on("close", () => sockets.delete(c));
      if (!target) {
        splice(c, connect({ port, host: "127.0.0.1" }));
        return;
      }
      c.pause();
      c.on("error", () => c.destroy());
      Promise.resolve()
        .then(target)
        .then(
          (to) => {
            if (!c.destroyed) splice(c, connect({ port: to, host: "127.0.0.1" }));
          },
          () => c.destroy(),
        );
    });
    await new Promise<void>((res, rej) => {
      s.once("error", rej);
      s.listen({ path }, () => res());
    });
    servers.push(s);
  }
  return {
    close: async () => {
      for (const c of sockets) c.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
