/** Small path helpers shared by the host side and the `__exec` step (kept import-free for start-up). */
import { join, sep } from "node:path";

export const isBeneath = (child: string, parent: string) => child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);

/** The bridge's unix sockets in the sandbox's private directory. */
export const portSocket = (sockDir: string, port: number) => join(sockDir, `port-${port}.sock`);
export const egressSocket = (sockDir: string) => join(sockDir, "egress.sock");
