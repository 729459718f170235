/** detect_pii: runs the detect_pii detector over the before call texts; personal data → the step's action. */
import { detectorStep } from "./_detect.ts";

export default detectorStep({
  name: "detect_pii",
  detectors: ["detect_pii"],
  phase: "before_call",
  threshold: 0.5,
  redaction: "reversible",
  label: "personal data",
  aspect: "compliance_tags",
});
