/** detect_secrets: runs the detect_secrets detector over the before call texts; a credential or secret → the step's action. */
import { detectorStep } from "./_detect.ts";

export default detectorStep({
  name: "detect_secrets",
  detectors: ["detect_secrets"],
  phase: "before_call",
  threshold: 0.5,
  redaction: "mask",
  label: "a credential or secret",
});
