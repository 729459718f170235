/** detect_exfil: runs the detect_exfil detector over the before call texts; a data exfiltration attempt → the step's action. */
import { detectorStep } from "./_detect.ts";

export default detectorStep({
  name: "detect_exfil",
  detectors: ["detect_exfil"],
  phase: "before_call",
  threshold: 0.6,
  redaction: "mask",
  label: "a data exfiltration attempt",
});
