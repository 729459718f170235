/** detect_secrets_in_response: runs the detect_secrets detector over the after call texts; a credential or secret in the response → the step's action. */
import { detectorStep } from "./_detect.ts";

export default detectorStep({
  name: "detect_secrets_in_response",
  detectors: ["detect_secrets"],
  phase: "after_call",
  threshold: 0.5,
  redaction: "mask",
  label: "a credential or secret in the response",
});
