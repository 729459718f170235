/** detect_pii_in_response: runs the detect_pii detector over the after call texts; personal data in the response → the step's action. */
import { detectorStep } from "./_detect.ts";

export default detectorStep({
  name: "detect_pii_in_response",
  detectors: ["detect_pii"],
  phase: "after_call",
  threshold: 0.5,
  redaction: "mask",
  label: "personal data in the response",
});
