/**
 * Detector quality and speed on the shared corpora (read in place, never copied):
 *  - per detector: recall on each attack corpus, false-positive rate on each benign corpus
 *    (secrets: gitleaks tps/fps; PII: presidio tables), and the union for injection + jailbreak;
 *  - time per 2 KiB and per 100 KiB input (median over repeated runs, plain loops).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { detectors } from "../src/engine/pipeline/detectors/index.ts";
import { attackCorpora, benignCorpora } from "../test/engine/pipeline/detectors/corpora.ts";
import { corporaDir } from "../test/helpers/home.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const pct = (n: number, d: number) => (d === 0 ? null : Number(((100 * n) / d).toFixed(1)));

function timing(detect: (t: string) => unknown, two: string, hundred: string) {
  const t2: number[] = [];
  for (let i = 0; i < 400; i++) {
    const s = `${two.slice(i % 64)}${i}`; // distinct strings defeat memoisation
    const t0 = performance.now();
    detect(s);
    t2.push(performance.now() - t0);
  }
  const t100: number[] = [];
  for (let i = 0; i < 15; i++) {
    const s = `${hundred}${i}`;
    const t0 = performance.now();
    detect(s);
    t100.push(performance.now() - t0);
  }
  return { per_2kib_median_us: Number((median(t2) * 1000).toFixed(1)), per_100kib_median_ms: Number(median(t100).toFixed(2)) };
}

export default async function (): Promise<Record<string, unknown>> {
  const attacks = attackCorpora();
  const benign = benignCorpora();
  const out: Record<string, unknown> = {};

  // Realistic mixed text for timing: benign and attack samples, plus a few secrets/PII/URLs.
  let pool = [...benign, ...attacks].flatMap((c) => c.samples.map((s) => s.text)).join("\n\n");
  pool += "\nexport AWS_ACCESS_KEY_ID=AKIAZ5X7Q2LPQ4RST3UV  jane@example.org  +44 7700 900123  ![x](https://webhook.site/a?q=abc)\n";
  while (pool.length < 102400) pool += pool;
  const two = pool.slice(0, 2048);
  const hundred = pool.slice(0, 102400);

  for (const [name, d] of Object.entries(detectors)) {
    const section: Record<string, unknown> = { action: d.action, ...timing((t) => d.detect(t), two, hundred) };
    if (name === "detect_prompt_injection" || name === "detect_jailbreak" || name === "detect_exfil") {
      const recall: Record<string, unknown> = {};
      for (const c of attacks) recall[c.name] = pct(c.samples.filter((s) => d.detect(s.text, { kind: s.kind }).length > 0).length, c.samples.length);
      const fpr: Record<string, unknown> = {};
      for (const c of benign) fpr[c.name] = pct(c.samples.filter((s) => d.detect(s.text, { kind: s.kind }).length > 0).length, c.samples.length);
      section.recall_pct = recall;
      section.false_positive_rate_pct = fpr;
    }
    out[name] = section;
  }

  // Union of injection + jailbreak (how the pipeline blocks).
  const inj = detectors.detect_prompt_injection;
  const jb = detectors.detect_jailbreak;
  if (inj && jb) {
    const any = (t: string, kind: NonNullable<Parameters<typeof inj.detect>[1]>["kind"]) => inj.detect(t, { kind }).length > 0 || jb.detect(t, { kind }).length > 0;
    const union: Record<string, unknown> = { recall_pct: {}, false_positive_rate_pct: {} };
    for (const c of attacks) (union.recall_pct as Record<string, unknown>)[c.name] = pct(c.samples.filter((s) => any(s.text, s.kind)).length, c.samples.length);
    for (const c of benign) (union.false_positive_rate_pct as Record<string, unknown>)[c.name] = pct(c.samples.filter((s) => any(s.text, s.kind)).length, c.samples.length);
    out["injection+jailbreak"] = union;
  }

  // Secrets on gitleaks fixtures.
  const sec = detectors.detect_secrets;
  if (sec) {
    const g = JSON.parse(readFileSync(join(corporaDir, "secrets/gitleaks-fixtures.json"), "utf8")) as { rules: { tps: string[]; fps: string[] }[] };
    const tps = g.rules.flatMap((r) => r.tps);
    const fps = g.rules.flatMap((r) => r.fps);
    Object.assign(out.detect_secrets as object, {
      gitleaks_tp_recall_pct: pct(tps.filter((t) => sec.detect(t).length > 0).length, tps.length),
      gitleaks_fp_rate_pct: pct(fps.filter((t) => sec.detect(t).length > 0).length, fps.length),
      benign_fp_rate_pct: Object.fromEntries(benign.map((c) => [c.name, pct(c.samples.filter((s) => sec.detect(s.text).length > 0).length, c.samples.length)])),
    });
  }

  // PII on presidio recognizer tables (types we implement) and presidio-research sentences.
  const pii = detectors.detect_pii;
  if (pii) {
    const d = JSON.parse(readFileSync(join(corporaDir, "pii/presidio-recognizer-testcases.json"), "utf8")) as { tests: { file: string; params: string; cases: unknown[][] }[] };
    const MAP: Record<string, string> = { email: "email", credit_card: "credit_card", iban: "iban", es_nie: "es_nie", es_nif: "es_dni", uk_nino: "uk_nino", pl_pesel: "pl_pesel", ip_recognizer: "ip_address", us_ssn: "us_ssn", it_fiscal_code: "it_fiscal_code", phone_recognizer: "phone_number", fi_personal: "fi_personal_identity_code", de_tax_id: "de_tax_id" };
    const per: Record<string, unknown> = {};
    for (const t of d.tests) {
      const key = Object.keys(MAP).find((k) => t.file.includes(`test_${k}`));
      if (!key) continue;
      const params = t.params.split(",").map((s) => s.trim());
      const ti = params.includes("text") ? params.indexOf("text") : params.indexOf("iban");
      const li = params.indexOf("expected_len");
      if (ti < 0 || li < 0) continue;
      const s = (per[key] ??= { pos: 0, pos_ok: 0, neg: 0, neg_ok: 0 }) as Record<string, number>;
      for (const c of t.cases) {
        const got = pii.detect(c[ti] as string).filter((f) => f.type === MAP[key]).length;
        if ((c[li] as number) > 0) {
          s.pos = (s.pos ?? 0) + 1;
          if (got === c[li]) s.pos_ok = (s.pos_ok ?? 0) + 1;
        } else {
          s.neg = (s.neg ?? 0) + 1;
          if (got === 0) s.neg_ok = (s.neg_ok ?? 0) + 1;
        }
      }
    }
    const r = JSON.parse(readFileSync(join(corporaDir, "pii/presidio-research-small.json"), "utf8")) as { full_text: string; spans: { entity_type: string; start_position: number; end_position: number }[] }[];
    const RM: Record<string, string> = { PHONE_NUMBER: "phone_number", CREDIT_CARD: "credit_card", US_SSN: "us_ssn", IP_ADDRESS: "ip_address", EMAIL_ADDRESS: "email" };
    let n = 0;
    let hit = 0;
    let found = 0;
    let unmatched = 0;
    for (const sx of r) {
      const f = pii.detect(sx.full_text);
      for (const sp of sx.spans) {
        const type = RM[sp.entity_type];
        if (!type) continue;
        n++;
        if (f.some((x) => x.type === type && x.start < sp.end_position && sp.start_position < x.end)) hit++;
      }
      for (const x of f) {
        found++;
        if (!sx.spans.some((sp) => x.start < sp.end_position && sp.start_position < x.end)) unmatched++;
      }
    }
    Object.assign(out.detect_pii as object, {
      presidio_recognizer_tables: per,
      presidio_research_structured_recall_pct: pct(hit, n),
      presidio_research_unmatched_findings: `${unmatched}/${found}`,
    });
  }
  return out;
}
