/**
 * Detectors: pure functions over text, shared by pipeline steps and `tappass scan`.
 * A detector never throws on odd input; it returns findings with spans into the ORIGINAL text.
 */
export interface Finding {
  /** detect_secrets | detect_pii | detect_prompt_injection | detect_jailbreak | detect_exfil | ... */
  detector: string;
  /** e.g. aws_access_key, email, credit_card, instruction_override, markdown_image_exfil */
  type: string;
  start: number;
  end: number;
  /** 0..1 confidence */
  score: number;
}

export interface DetectOptions {
  /** Minimum score to report (detector default otherwise). */
  threshold?: number;
  /** Where the text came from: tool output is where indirect injection arrives. */
  kind?: "prompt" | "system" | "tool_output" | "tool_args" | "response";
}

export interface Detector {
  name: string;
  /** What a finding of this detector means for `scan`: redact (PII) or block (secrets, injection). */
  action: "redact" | "block";
  detect(text: string, opts?: DetectOptions): Finding[];
}
