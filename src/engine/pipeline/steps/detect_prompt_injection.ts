/** detect_prompt_injection: runs the detect_prompt_injection detector over the before call texts; a prompt injection → the step's action. */
import { detectorStep } from "./_detect.ts";

export default detectorStep({
  name: "detect_prompt_injection",
  detectors: ["detect_prompt_injection"],
  phase: "before_call",
  kinds: ["prompt", "tool_output", "tool_args"],
  threshold: 0.7,
  redaction: "mask",
  label: "a prompt injection",
});
