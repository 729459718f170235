import { BaseCommand } from "../../cli/base.ts";

export default class HostStatus extends BaseCommand {
  static override description =
    "Show this host: TapPass version, TAPPASS_HOME, whether it is initialised and enrolled, and whether the kernel ring (Landlock ABI, seccomp, bubblewrap, user namespaces) can be enforced here.";
  static override examples = ["tappass-host status", "tappass-host status --json"];
  static override flags = { ...BaseCommand.baseFlags };

  async run(): Promise<void> {
    await this.parse(HostStatus);
    const { hostStatus } = await import("../../engine/host-status.ts");
    const s = await hostStatus();
    this.output(s, (x) =>
      [
        `tappass ${x.version} · home ${x.home} (${x.initialised ? "initialised" : "not initialised: run `tappass init`"})`,
        `enrolled: ${x.enrolled ? "yes" : "no (agents run locally with `tappass exec`)"}`,
        `kernel ring: ${x.kernel_ring.ready ? `ready — Landlock ABI ${x.kernel_ring.landlock_abi}, seccomp, ${x.kernel_ring.bwrap}` : `NOT ready — missing ${x.kernel_ring.missing.join(", ")}`}`,
      ].join("\n"),
    );
  }
}
