/**
 * OpenShell sandbox profile (YAML): filesystem read-only / read-write sets, network policy
 * limited to the gateway and allowed domains, and the process identity.
 */
import { stringify } from "yaml";
import type { Provider } from "./types.ts";
import { allowedDomains, deniedPaths, expandPath, uniq } from "./util.ts";

export const openshell: Provider = {
  id: "openshell",
  description: "OpenShell sandbox policy profile (YAML)",
  render(policy, caps) {
    const gw = caps.gatewayUrl ? new URL(caps.gatewayUrl) : undefined;
    const profile = {
      version: 1,
      name: `tappass-${policy.agent}`,
      metadata: { agent: policy.agent, project: policy.project, org: policy.org, policy_version: policy.policy_version, expires_at: policy.expires_at },
      filesystem_policy: {
        include_workdir: true,
        read_only: uniq(["/usr", "/lib", "/lib64", "/bin", "/etc", ...policy.filesystem.read_only.map((p) => expandPath(p, caps))]).sort(),
        read_write: uniq([caps.workspace, "/tmp", ...policy.filesystem.read_write.map((p) => expandPath(p, caps))]).sort(),
        deny: deniedPaths(policy, caps),
      },
      landlock: { compatibility: "hard_requirement" },
      process: { run_as_user: "sandbox", run_as_group: "sandbox" },
      network_policies: {
        ...(gw ? { tappass_gateway: { endpoints: [{ host: gw.hostname, port: Number(gw.port) }] } } : {}),
        allowed: { endpoints: allowedDomains(policy).map((d) => ({ host: d, port: 443 })) },
      },
    };
    return [{ path: "openshell/policy.yaml", content: stringify(profile, { sortMapEntries: false }) }];
  },
};
