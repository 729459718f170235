/** detect_jailbreak: runs the detect_jailbreak detector over the before call texts; a jailbreak attempt → the step's action. */
import { detectorStep } from "./_detect.ts";

export default detectorStep({
  name: "detect_jailbreak",
  detectors: ["detect_jailbreak"],
  phase: "before_call",
  kinds: ["prompt"],
  threshold: 0.7,
  redaction: "mask",
  label: "a jailbreak attempt",
});
