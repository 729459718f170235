import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { bsnValid, codiceFiscaleValid, ibanValid, luhn, peselValid, piiDetector, steuerIdValid } from "../../../../src/engine/pipeline/detectors/pii.ts";
import { corporaDir } from "../../../helpers/home.ts";

const found = (t: string) => piiDetector.detect(t).map((f) => `${f.type}:${t.slice(f.start, f.end)}`);

describe("detect_pii", () => {
  test("checksums", () => {
    expect(luhn("4111111111111111")).toBe(true);
    expect(luhn("4111111111111112")).toBe(false);
    expect(ibanValid("DE89 3704 0044 0532 0130 00")).toBe(true);
    expect(ibanValid("DE89 3704 0044 0532 0130 01")).toBe(false);
    expect(bsnValid("111222333")).toBe(true);
    expect(bsnValid("111222334")).toBe(false);
    expect(peselValid("44051401359")).toBe(true);
    expect(peselValid("44051401358")).toBe(false);
    expect(codiceFiscaleValid("RSSMRA85T10A562S")).toBe(true);
    expect(steuerIdValid("86095742719")).toBe(true);
  });

  test("finds personal data in a support e-mail", () => {
    const t =
      "Hi, I'm Jane (jane.doe@example.org, mobile +44 7700 900123). My card 4111 1111 1111 1111 was charged twice; " +
      "refund to IBAN GB82 WEST 1234 5698 7654 32. SSN 078-05-1121 for the tax form. Born on 12/03/1985. Server 192.168.10.24.";
    const f = found(t);
    expect(f).toContain("email:jane.doe@example.org");
    expect(f).toContain("phone_number:+44 7700 900123");
    expect(f).toContain("credit_card:4111 1111 1111 1111");
    expect(f).toContain("iban:GB82 WEST 1234 5698 7654 32");
    expect(f).toContain("us_ssn:078-05-1121");
    expect(f).toContain("date_of_birth:12/03/1985");
    expect(f).toContain("ip_address:192.168.10.24");
  });

  test("EU national ids with checksums", () => {
    expect(found("Mi DNI es 12345678Z")).toContain("es_dni:12345678Z");
    expect(found("NIE: X1234567L")).toContain("es_nie:X1234567L");
    expect(found("Codice fiscale: RSSMRA85T10A562S")).toContain("it_fiscal_code:RSSMRA85T10A562S");
    expect(found("Mijn BSN is 111222333")).toContain("nl_bsn:111222333");
    expect(found("PESEL: 44051401359")).toContain("pl_pesel:44051401359");
    expect(found("NINO: AB 12 34 56 C")).toContain("uk_nino:AB 12 34 56 C");
    expect(found("personnummer 811218-9876")).toContain("se_personnummer:811218-9876");
  });

  test("no PII in ordinary text, versions, order numbers or invalid checksums", () => {
    for (const t of ["Version 1.2.3 released on 2024-01-05", "Order 4111111111111112 shipped", "Call the function at line 415", "The year 1985 was great", "NIE X1234567A"]) {
      expect(piiDetector.detect(t)).toEqual([]);
    }
  });

  test("corpus: presidio recognizer tables for the types we cover", () => {
    const d = JSON.parse(readFileSync(join(corporaDir, "pii/presidio-recognizer-testcases.json"), "utf8")) as { tests: { file: string; params: string; cases: unknown[][] }[] };
    const MAP: Record<string, string> = { email: "email", credit_card: "credit_card", iban: "iban", es_nie: "es_nie", es_nif: "es_dni", uk_nino: "uk_nino", pl_pesel: "pl_pesel", ip_recognizer: "ip_address", us_ssn: "us_ssn" };
    let pos = 0;
    let posOk = 0;
    let neg = 0;
    let negOk = 0;
    for (const t of d.tests) {
      const key = Object.keys(MAP).find((k) => t.file.includes(`test_${k}`));
      if (!key) continue;
      const params = t.params.split(",").map((s) => s.trim());
      const ti = params.includes("text") ? params.indexOf("text") : params.indexOf("iban");
      const li = params.indexOf("expected_len");
      if (ti < 0 || li < 0) continue;
      for (const c of t.cases) {
        const got = piiDetector.detect(c[ti] as string).filter((f) => f.type === MAP[key]).length;
        if ((c[li] as number) > 0) {
          pos++;
          if (got === c[li]) posOk++;
        } else {
          neg++;
          if (got === 0) negOk++;
        }
      }
    }
    // Measured: 288/301 positives, 251/251 negatives.
    expect(posOk / pos).toBeGreaterThanOrEqual(0.93);
    expect(negOk / neg).toBeGreaterThanOrEqual(0.99);
  });

  test("corpus: presidio-research sentences (structured types)", () => {
    const r = JSON.parse(readFileSync(join(corporaDir, "pii/presidio-research-small.json"), "utf8")) as { full_text: string; spans: { entity_type: string; start_position: number; end_position: number }[] }[];
    const RM: Record<string, string> = { PHONE_NUMBER: "phone_number", CREDIT_CARD: "credit_card", US_SSN: "us_ssn", IP_ADDRESS: "ip_address", EMAIL_ADDRESS: "email" };
    let n = 0;
    let hit = 0;
    for (const s of r) {
      const f = piiDetector.detect(s.full_text);
      for (const sp of s.spans) {
        const type = RM[sp.entity_type];
        if (!type) continue;
        n++;
        if (f.some((x) => x.type === type && x.start < sp.end_position && sp.start_position < x.end)) hit++;
      }
    }
    expect(hit / n).toBeGreaterThanOrEqual(0.9);
  });
});
