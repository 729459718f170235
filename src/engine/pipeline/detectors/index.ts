/**
 * The detector registry, and `scan`: run detectors over a text and decide.
 * A static table (no discovery at run time); adding a detector is one import and one entry.
 */
import { TapPassError } from "../../errors.ts";
import { exfilDetector } from "./exfil.ts";
import { injectionDetector } from "./injection.ts";
import { jailbreakDetector } from "./jailbreak.ts";
import { piiDetector } from "./pii.ts";
import { secretsDetector } from "./secrets.ts";
import type { DetectOptions, Detector, Finding } from "./types.ts";

export type { DetectOptions, Detector, Finding } from "./types.ts";

export const detectors: Record<string, Detector> = {
  [secretsDetector.name]: secretsDetector,
  [piiDetector.name]: piiDetector,
  [injectionDetector.name]: injectionDetector,
  [jailbreakDetector.name]: jailbreakDetector,
  [exfilDetector.name]: exfilDetector,
};

export type ScanDecision = "allow" | "redact" | "block";

export interface ScanResult {
  decision: ScanDecision;
  findings: Finding[];
}

/** Look a detector up by name; unknown names are a usage error (exit 2) listing valid names. */
export function getDetector(name: string): Detector {
  const d = detectors[name];
  if (!d) {
    const valid = Object.keys(detectors);
    throw new TapPassError("unknown_detector", `unknown detector "${name}"`, 2, {
      hint: `valid detectors: ${valid.join(", ")}`,
      details: { valid },
    });
  }
  return d;
}

/**
 * Run the named detectors (all when omitted) over `text`.
 * decision: block if any finding comes from a block-action detector, else redact if any finding
 * comes from a redact-action detector, else allow. A detector that throws is fail-closed: the
 * error propagates (callers deny), it never silently allows.
 */
export function scan(text: string, names?: string[], opts: DetectOptions = {}): ScanResult {
  const list = (names && names.length > 0 ? names : Object.keys(detectors)).map(getDetector);
  const findings: Finding[] = [];
  let decision: ScanDecision = "allow";
  for (const d of list) {
    const found = d.detect(text, opts);
    if (found.length === 0) continue;
    findings.push(...found);
    if (d.action === "block") decision = "block";
    else if (decision === "allow") decision = "redact";
  }
  findings.sort((a, b) => a.start - b.start || a.end - b.end || a.detector.localeCompare(b.detector));
  return { decision, findings };
}
