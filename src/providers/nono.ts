/**
 * nono (capability sandbox CLI): the command-line flags that reproduce the filesystem and
 * network aspects. Rendered as an argv file (one flag per line) plus a runnable shell line.
 */
import type { Provider } from "./types.ts";
import { allowedDomains, expandPath, shellJoin, uniq } from "./util.ts";

export const nono: Provider = {
  id: "nono",
  description: "nono sandbox command-line flags",
  render(policy, caps) {
    const flags: string[] = [];
    for (const p of uniq([caps.workspace, ...policy.filesystem.read_write.map((x) => expandPath(x, caps))]).sort()) flags.push("--allow", p);
    for (const p of uniq(policy.filesystem.read_only.map((x) => expandPath(x, caps))).sort()) flags.push("--read", p);
    if (allowedDomains(policy).length === 0 && !caps.gatewayUrl) flags.push("--block-net");
    return [
      { path: "nono/flags.txt", content: `${flags.join("\n")}\n` },
      { path: "nono/run.sh", content: `#!/bin/sh\n# Rendered by TapPass from policy v${policy.policy_version}\nexec nono run ${shellJoin(flags)} -- "$@"\n`, mode: 0o755 },
    ];
  },
};
