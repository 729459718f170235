import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "../cli/base.ts";

interface ScanOutput {
  decision: "allow" | "redact" | "block";
  findings: { detector: string; type: string; start: number; end: number; score: number }[];
}

export default class Scan extends BaseCommand {
  static override description =
    "Run the pipeline's detectors (secrets, PII, prompt injection, jailbreak, exfiltration) over a file or stdin and print the decision and findings. Exits 0 whatever the decision.";
  static override examples = [
    "<%= config.bin %> scan --json prompt.txt",
    "cat tool-output.txt | <%= config.bin %> scan --detectors detect_prompt_injection,detect_exfil --kind tool_output -",
  ];
  static override flags = {
    ...BaseCommand.baseFlags,
    detectors: Flags.string({ description: "comma-separated detector names (default: all)" }),
    kind: Flags.string({
      description: "where the text comes from; tool_output raises indirect-injection sensitivity",
      options: ["prompt", "system", "tool_output", "tool_args", "response"],
    }),
    threshold: Flags.string({ description: "minimum score to report, 0..1 (default: each detector's own)" }),
  };
  static override args = { file: Args.string({ required: false, description: "FILE, or - (default) for stdin" }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Scan);
    const { scan } = await import("../engine/pipeline/detectors/index.ts");
    const { inputError, usageError } = await import("../engine/errors.ts");
    const file = args.file ?? "-";
    let text: string;
    try {
      text = file === "-" ? await readStdin() : await Bun.file(file).text();
    } catch (e) {
      throw inputError("unreadable_input", `cannot read ${file}: ${(e as Error).message}`, { where: file, hint: "pass a readable file, or - for stdin" });
    }
    let threshold: number | undefined;
    if (flags.threshold !== undefined) {
      threshold = Number(flags.threshold);
      if (!Number.isFinite(threshold) || threshold < 0 || threshold > 1) throw usageError(`--threshold must be a number between 0 and 1, got "${flags.threshold}"`);
    }
    const names = flags.detectors
      ?.split(",")
      .map((s: string) => s.trim())
      .filter(Boolean);
    const r = scan(text, names, { kind: flags.kind as ScanKind, threshold });
    const out: ScanOutput = {
      decision: r.decision,
      findings: r.findings.map((f) => ({ detector: f.detector, type: f.type, start: f.start, end: f.end, score: f.score })),
    };
    this.output(out, (o) => human(o, text));
  }
}

type ScanKind = "prompt" | "system" | "tool_output" | "tool_args" | "response" | undefined;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(typeof c === "string" ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

/** A readable table; matched text is shown masked for secrets and PII. */
function human(o: ScanOutput, text: string): string {
  const lines = [`decision: ${o.decision}  (${o.findings.length} finding${o.findings.length === 1 ? "" : "s"})`];
  if (o.findings.length === 0) return lines.join("\n");
  const rows = o.findings.map((f) => {
    const raw = text.slice(f.start, f.end).replace(/\s+/g, " ");
    const sensitive = f.detector === "detect_secrets" || f.detector === "detect_pii";
    const shown = sensitive ? mask(raw) : raw.length > 60 ? `${raw.slice(0, 57)}...` : raw;
    return [f.detector, f.type, `${f.start}-${f.end}`, f.score.toFixed(2), shown];
  });
  const head = ["DETECTOR", "TYPE", "SPAN", "SCORE", "TEXT"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number))).join("  ");
  lines.push(fmt(head), ...rows.map(fmt));
  return lines.join("\n");
}

function mask(s: string): string {
  if (s.length <= 6) return "*".repeat(s.length);
  const keep = Math.min(4, Math.floor(s.length / 5));
  const body = `${s.slice(0, keep)}${"*".repeat(Math.min(20, s.length - keep * 2))}${s.slice(-keep)}`;
  return body.length > 60 ? `${body.slice(0, 57)}...` : body;
}
