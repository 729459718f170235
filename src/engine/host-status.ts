/**
 * `tappass-host status`: what this machine can enforce and whether it is enrolled. Host
 * enrollment and policy sync (`tappass-host init/start/daemon`) come with the control plane;
 * until then a host runs agents locally with `tappass exec`.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { statePath, tappassHome } from "./home.ts";

export async function hostStatus() {
  const { probeKernel, missingFeatures } = await import("../sandbox/index.ts");
  const home = tappassHome();
  const probe = probeKernel();
  const missing = missingFeatures(probe);
  const keyring = join(home, "host", "keyring.json");
  return {
    version: pkg.version,
    home,
    initialised: existsSync(statePath(home)),
    enrolled: existsSync(keyring),
    kernel_ring: { ready: missing.length === 0, missing, ...probe },
  };
}
