import { Flags } from "@oclif/core";
import { BaseCommand } from "../cli/base.ts";

/**
 * Internal step of the kernel ring (src/sandbox/inner.ts): inside the namespaces, apply
 * seccomp + Landlock, drop privileges and execve the command — or, with --bridge, serve the
 * in-namespace bridge. Started by `exec`, never by users.
 */
export default class InternalExec extends BaseCommand {
  static override hidden = true;
  static override strict = false;
  static override description = "Confine and execve a command inside the sandbox (internal step of `exec`).";
  static override flags = {
    spec: Flags.string({ description: "sandbox spec file written by exec" }),
    "spec-fd": Flags.integer({ description: "read the sandbox spec from this file descriptor (until EOF)" }),
    bridge: Flags.string({ description: "serve the in-namespace bridge for these listeners (JSON)" }),
  };

  async run(): Promise<void> {
    // Raw argv on purpose: everything after "--" is the command, untouched.
    const { execStep } = await import("../sandbox/entry.ts");
    const dd = this.argv.indexOf("--");
    if ((dd === -1 ? this.argv : this.argv.slice(0, dd)).includes("--bridge")) globalThis.__tappassKeepAlive = true;
    await execStep(this.argv);
  }
}
