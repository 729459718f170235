/**
 * scan_output: the model's output is scanned for what it should never carry back — instructions
 * planted for the agent (injection relayed through the response) and exfiltration channels
 * (markdown images / links that smuggle data out). config.detectors narrows the list.
 */
import { detectorStep } from "./_detect.ts";

export default detectorStep({
  name: "scan_output",
  detectors: ["detect_exfil", "detect_prompt_injection"],
  phase: "after_call",
  threshold: 0.7,
  redaction: "mask",
  label: "unsafe model output",
});
