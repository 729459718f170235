/**
 * detect_pii: personal data (action: redact).
 *
 * Pattern + validation: a candidate only counts when its checksum or structure holds (Luhn and
 * IIN ranges for cards, mod-97 for IBAN and FR NIR, 11-proof for NL BSN, ISO 7064 for DE
 * Steuer-ID, weights for PL PESEL, Luhn for SE personnummer, control letters for ES DNI/NIE and
 * IT codice fiscale, ...). Weak shapes (bare 9- or 11-digit numbers, dates, passport-like IDs)
 * need a context word nearby to reach the default threshold.
 */
import type { DetectOptions, Detector, Finding } from "./types.ts";

const NAME = "detect_pii";

interface Hit {
  type: string;
  start: number;
  end: number;
  score: number;
}

function near(lower: string, start: number, end: number, re: RegExp, before = 60, after = 30): boolean {
  return re.test(lower.slice(Math.max(0, start - before), Math.min(lower.length, end + after)));
}

const digitsOf = (s: string) => s.replace(/\D/g, "");

// ---------------------------------------------------------------------------------------------
// Email

const EMAIL = /(?<![\w.%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}(?:[A-Za-z]{2,24}|xn--[a-z0-9-]{1,59})(?![\w-]|\.[A-Za-z])/g;

function emails(text: string, out: Hit[]) {
  if (!text.includes("@")) return;
  EMAIL.lastIndex = 0;
  for (let m = EMAIL.exec(text); m !== null; m = EMAIL.exec(text)) {
    if (m[0].startsWith(".") || m[0].includes("..")) continue;
    out.push({ type: "email", start: m.index, end: m.index + m[0].length, score: 0.95 });
  }
}

// ---------------------------------------------------------------------------------------------
// Credit cards: Luhn + issuer ranges

export function luhn(d: string): boolean {
  let sum = 0;
  let alt = false;
  for (let i = d.length - 1; i >= 0; i--) {
    let n = d.charCodeAt(i) - 48;
    if (alt) {
      n *= 2;
      if (n > 9) n -= 9;
    }
    sum += n;
    alt = !alt;
  }
  return sum % 10 === 0;
}

/** Issuer identification: network prefix and the lengths it issues. */
function cardNetwork(d: string): string | null {
  const n = d.length;
  const p2 = Number(d.slice(0, 2));
  const p3 = Number(d.slice(0, 3));
  const p4 = Number(d.slice(0, 4));
  const p6 = Number(d.slice(0, 6));
  if (d[0] === "4" && (n === 13 || n === 16 || n === 19)) return "visa";
  if (((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) && n === 16) return "mastercard";
  if ((p2 === 34 || p2 === 37) && n === 15) return "amex";
  if ((p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925)) && n >= 16 && n <= 19) return "discover";
  if (p4 >= 3528 && p4 <= 3589 && n >= 16 && n <= 19) return "jcb";
  if (((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38 || p2 === 39) && n >= 14 && n <= 19) return "diners";
  if (p2 === 62 && n >= 16 && n <= 19) return "unionpay";
  if ((p2 === 50 || (p2 >= 56 && p2 <= 69)) && n >= 12 && n <= 19) return "maestro";
  if (d[0] === "1" && n === 15) return "uatp";
  if (p4 >= 2200 && p4 <= 2204 && n === 16) return "mir";
  return null;
}

const CARD = /(?<![\d.,-])(?:\d{12,19}|\d{4}([ -])\d{4,6}\1\d{4,5}(?:\1\d{1,4}){0,2})(?![\d]|[.,]\d)/g;
const CARD_CTX = /card|credit|debit|visa|master|amex|cc\b|payment|pay with|kart|tarjeta|carte/;

function cards(text: string, lower: string, out: Hit[]) {
  CARD.lastIndex = 0;
  for (let m = CARD.exec(text); m !== null; m = CARD.exec(text)) {
    const raw = m[0];
    const seps = raw.match(/[ -]/g);
    if (seps && new Set(seps).size > 1) continue; // mixed separators
    const d = digitsOf(raw);
    if (d.length < 12 || d.length > 19 || !luhn(d) || /^(\d)\1+$/.test(d)) continue;
    const net = cardNetwork(d);
    if (!net) continue;
    const ctx = near(lower, m.index, m.index + raw.length, CARD_CTX);
    out.push({ type: "credit_card", start: m.index, end: m.index + raw.length, score: ctx ? 1 : 0.9 });
  }
}

// ---------------------------------------------------------------------------------------------
// IBAN: country length + mod-97

const IBAN_LEN: Record<string, number> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28, CH: 21, CR: 22, CY: 28,
  CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23,
  GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32,
  LI: 21, LT: 20, LU: 20, LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28, NL: 18,
  NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24, SC: 31, SD: 18, SE: 24, SI: 19,
  SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20, YE: 30,
  // partial-participation countries
  DZ: 26, AO: 25, BJ: 28, BF: 28, CM: 27, CV: 25, CF: 27, TD: 27, KM: 27, CG: 27, GQ: 27, GA: 27, GW: 25, CI: 28, IR: 26,
  MG: 27, ML: 28, MA: 28, MZ: 25, NE: 28, SN: 28, TG: 28, HN: 28,
};

export function ibanValid(s: string): boolean {
  const iban = s.replace(/[ -]/g, "").toUpperCase();
  const len = IBAN_LEN[iban.slice(0, 2)];
  if (!len || iban.length !== len || !/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(iban)) return false;
  const r = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (const ch of r) {
    const v = ch >= "A" ? String(ch.charCodeAt(0) - 55) : ch;
    for (const c of v) rem = (rem * 10 + (c.charCodeAt(0) - 48)) % 97;
  }
  return rem === 1;
}

const IBAN = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]{4}){2,7}(?:[ -]?[A-Z0-9]{1,3})?(?![A-Za-z0-9])/g;

function ibans(text: string, out: Hit[]) {
  IBAN.lastIndex = 0;
  for (let m = IBAN.exec(text); m !== null; m = IBAN.exec(text)) {
    let raw = m[0];
    // The optional tail may have eaten a following word; shrink until valid.
    while (raw.length > 14 && !ibanValid(raw)) {
      const cut = raw.search(/[ -][A-Z0-9]{1,4}$/);
      if (cut < 0) break;
      raw = raw.slice(0, cut);
    }
    if (ibanValid(raw)) out.push({ type: "iban", start: m.index, end: m.index + raw.length, score: 1 });
  }
}

// ---------------------------------------------------------------------------------------------
// National identifiers

const SSN = /(?<![\d-])(\d{3})([- .]?)(\d{2})\2(\d{4})(?![\d-])/g;
const SSN_CTX = /ssn|social security|social sec|\bss#|\bsocial\b|tin\b|taxpayer/;

function ssns(text: string, lower: string, out: Hit[]) {
  SSN.lastIndex = 0;
  for (let m = SSN.exec(text); m !== null; m = SSN.exec(text)) {
    const area = Number(m[1]);
    const group = Number(m[3]);
    const serial = Number(m[4]);
    if (area === 0 || area === 666 || area >= 900 || group === 0 || serial === 0) continue;
    const d = digitsOf(m[0]);
    if (/^(\d)\1+$/.test(d) || d === "123456789" || d === "078051120" || d === "219099999") continue;
    const ctx = near(lower, m.index, m.index + m[0].length, SSN_CTX);
    const sep = m[2] !== "";
    const score = ctx ? 0.95 : sep && m[2] === "-" ? 0.6 : sep ? 0.5 : 0.3;
    out.push({ type: "us_ssn", start: m.index, end: m.index + m[0].length, score });
  }
}

const NINO = /(?<![A-Za-z0-9])(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])/gi;

function ninos(text: string, lower: string, out: Hit[]) {
  NINO.lastIndex = 0;
  for (let m = NINO.exec(text); m !== null; m = NINO.exec(text)) {
    const ctx = near(lower, m.index, m.index + m[0].length, /national insurance|\bnino\b|\bni\b|\bni number/);
    const upper = m[0] === m[0].toUpperCase();
    out.push({ type: "uk_nino", start: m.index, end: m.index + m[0].length, score: ctx ? 0.95 : upper ? 0.8 : 0.5 });
  }
}

const DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE";
const ES_ID = /(?<![A-Za-z0-9])([XYZ]?)-?(\d{7,8})-?([A-Z])(?![A-Za-z0-9])/gi;

function spanishIds(text: string, lower: string, out: Hit[]) {
  ES_ID.lastIndex = 0;
  for (let m = ES_ID.exec(text); m !== null; m = ES_ID.exec(text)) {
    const prefix = (m[1] as string).toUpperCase();
    const num = m[2] as string;
    if (prefix && num.length !== 7) continue;
    const n = Number(prefix ? `${"XYZ".indexOf(prefix)}${num}` : num);
    if (DNI_LETTERS[n % 23] !== (m[3] as string).toUpperCase()) continue;
    const ctx = near(lower, m.index, m.index + m[0].length, /dni|nie|nif|identidad|identificaci|documento/);
    out.push({ type: prefix ? "es_nie" : "es_dni", start: m.index, end: m.index + m[0].length, score: ctx ? 1 : 0.85 });
  }
}

const CF = /(?<![A-Za-z0-9])[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z](?![A-Za-z0-9])/gi;
const CF_ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];

export function codiceFiscaleValid(cf: string): boolean {
  const s = cf.toUpperCase();
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    const c = s[i] as string;
    const idx = c >= "0" && c <= "9" ? c.charCodeAt(0) - 48 : c.charCodeAt(0) - 65;
    sum += i % 2 === 0 ? (CF_ODD[idx] as number) : idx;
  }
  return String.fromCharCode(65 + (sum % 26)) === s[15];
}

function codiciFiscali(text: string, out: Hit[]) {
  CF.lastIndex = 0;
  for (let m = CF.exec(text); m !== null; m = CF.exec(text)) {
    out.push({ type: "it_fiscal_code", start: m.index, end: m.index + 16, score: codiceFiscaleValid(m[0]) ? 0.9 : 0.4 });
  }
}

/** Bare digit runs of one length, validated and scored by context. */
function digitRuns(text: string, len: number): RegExpExecArray[] {
  const re = new RegExp(`(?<![\\d.,/-])\\d{${len}}(?![\\d]|[.,/-]\\d)`, "g");
  const res: RegExpExecArray[] = [];
  for (let m = re.exec(text); m !== null && res.length < 500; m = re.exec(text)) res.push(m);
  return res;
}

export function bsnValid(d: string): boolean {
  if (!/^\d{9}$/.test(d) || d === "000000000") return false;
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += (d.charCodeAt(i) - 48) * (9 - i);
  sum -= d.charCodeAt(8) - 48;
  return sum % 11 === 0;
}

export function steuerIdValid(d: string): boolean {
  if (!/^[1-9]\d{10}$/.test(d)) return false;
  const counts = new Map<string, number>();
  for (const c of d.slice(0, 10)) counts.set(c, (counts.get(c) ?? 0) + 1);
  const reps = [...counts.values()].filter((n) => n > 1);
  // Issued IDs repeat exactly one digit (twice or thrice); early IDs had ten distinct digits.
  if (reps.length > 1 || (reps[0] ?? 0) > 3) return false;
  let product = 10;
  for (let i = 0; i < 10; i++) {
    let sum = (d.charCodeAt(i) - 48 + product) % 10;
    if (sum === 0) sum = 10;
    product = (sum * 2) % 11;
  }
  const check = (11 - product) % 10;
  return check === d.charCodeAt(10) - 48;
}

export function peselValid(d: string): boolean {
  if (!/^\d{11}$/.test(d)) return false;
  const w = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3];
  let sum = 0;
  for (let i = 0; i < 10; i++) sum += (d.charCodeAt(i) - 48) * (w[i] as number);
  if ((10 - (sum % 10)) % 10 !== d.charCodeAt(10) - 48) return false;
  const month = Number(d.slice(2, 4)) % 20;
  const day = Number(d.slice(4, 6));
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

function nirValid(s: string): boolean {
  const c = s.replace(/\s/g, "").toUpperCase();
  if (!/^[12378]\d{4}(?:\d{2}|2A|2B)\d{6}\d{2}$/.test(c)) return false;
  const body = c.slice(0, 13).replace("2A", "19").replace("2B", "18");
  const key = Number(c.slice(13));
  return 97 - Number(BigInt(body) % 97n) === key;
}

const NIR = /(?<![\dA-Za-z])[12378] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}(?![\dA-Za-z])/g;

function nirs(text: string, lower: string, out: Hit[]) {
  NIR.lastIndex = 0;
  for (let m = NIR.exec(text); m !== null; m = NIR.exec(text)) {
    if (!nirValid(m[0])) continue;
    const month = Number(m[0].replace(/\s/g, "").slice(3, 5));
    if (!((month >= 1 && month <= 12) || month >= 20)) continue;
    const ctx = near(lower, m.index, m.index + m[0].length, /s[ée]curit[ée] sociale|\bnir\b|insee|num[ée]ro de s/);
    out.push({ type: "fr_nir", start: m.index, end: m.index + m[0].length, score: ctx ? 0.95 : 0.8 });
  }
}

export function personnummerValid(s: string): boolean {
  const d = digitsOf(s);
  const ten = d.length === 12 ? d.slice(2) : d;
  if (ten.length !== 10) return false;
  const month = Number(ten.slice(2, 4));
  const day = Number(ten.slice(4, 6));
  if (month < 1 || month > 12 || day < 1 || (day > 31 && (day < 61 || day > 91))) return false;
  return luhn(ten);
}

const SE_PNR = /(?<![\d-])(?:19|20)?\d{6}[-+]\d{4}(?![\d-])/g;

const FI_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY";
const FI_HETU = /(?<![A-Za-z0-9])(\d{2})(\d{2})(\d{2})([-+ABCDEFUVWXY])(\d{3})([0-9ABCDEFHJKLMNPRSTUVWXY])(?![A-Za-z0-9])/g;

function finnish(text: string, out: Hit[]) {
  FI_HETU.lastIndex = 0;
  for (let m = FI_HETU.exec(text); m !== null; m = FI_HETU.exec(text)) {
    const day = Number(m[1]);
    const month = Number(m[2]);
    if (day < 1 || day > 31 || month < 1 || month > 12) continue;
    const n = Number(`${m[1]}${m[2]}${m[3]}${m[5]}`);
    if (FI_CHECK[n % 31] !== m[6]) continue;
    out.push({ type: "fi_personal_identity_code", start: m.index, end: m.index + m[0].length, score: 0.9 });
  }
}

export function nhsValid(d: string): boolean {
  if (!/^\d{10}$/.test(d)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (d.charCodeAt(i) - 48) * (10 - i);
  const check = 11 - (sum % 11);
  return (check === 11 ? 0 : check) === d.charCodeAt(9) - 48 && check !== 10;
}

function numericIds(text: string, lower: string, out: Hit[]) {
  for (const m of digitRuns(text, 9)) {
    if (bsnValid(m[0]) && near(lower, m.index, m.index + 9, /\bbsn\b|burgerservice|sofinummer|sofi-nummer|persoonsnummer/)) {
      out.push({ type: "nl_bsn", start: m.index, end: m.index + 9, score: 0.9 });
    }
  }
  for (const m of digitRuns(text, 11)) {
    const ctxDe = near(lower, m.index, m.index + 11, /steuer|identifikationsnummer|\bidnr|tax id|\btin\b|steuer-id/);
    if (steuerIdValid(m[0]) && ctxDe) out.push({ type: "de_tax_id", start: m.index, end: m.index + 11, score: 0.9 });
    else if (peselValid(m[0])) {
      const ctx = near(lower, m.index, m.index + 11, /pesel|numer ewidencyjny|national id|identity/);
      out.push({ type: "pl_pesel", start: m.index, end: m.index + 11, score: ctx ? 0.95 : 0.55 });
    }
  }
  // DE Steuer-ID is often written in groups: 12 345 678 901
  for (const m of text.matchAll(/(?<!\d)\d{2} \d{3} \d{3} \d{3}(?!\d)/g)) {
    const d = digitsOf(m[0]);
    if (steuerIdValid(d) && near(lower, m.index, m.index + m[0].length, /steuer|identifikationsnummer|\bidnr|tax id|\btin\b/)) {
      out.push({ type: "de_tax_id", start: m.index, end: m.index + m[0].length, score: 0.9 });
    }
  }
  for (const m of text.matchAll(/(?<![\d-])\d{3}[ -]?\d{3}[ -]?\d{4}(?![\d-])/g)) {
    if (nhsValid(digitsOf(m[0])) && near(lower, m.index, m.index + m[0].length, /\bnhs\b|health service|patient/)) {
      out.push({ type: "uk_nhs_number", start: m.index, end: m.index + m[0].length, score: 0.9 });
    }
  }
  SE_PNR.lastIndex = 0;
  for (let m = SE_PNR.exec(text); m !== null; m = SE_PNR.exec(text)) {
    if (!personnummerValid(m[0])) continue;
    const ctx = near(lower, m.index, m.index + m[0].length, /personnummer|person number|samordningsnummer/);
    out.push({ type: "se_personnummer", start: m.index, end: m.index + m[0].length, score: ctx ? 0.95 : 0.75 });
  }
}

// ---------------------------------------------------------------------------------------------
// Phone numbers

const PHONE_CTX = /phone|tel\b|tel\.|tel:|telephone|mobile|cell|call|fax|contact|reach me|text me|sms|whatsapp|number|téléphone|telefon|teléfono|handy|mobil|portable|ring/;
const PHONE_INTL = /(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){1,6}(?![\d])/g;
const PHONE_NATIONAL = /(?<![\w+])(?:\(\d{2,5}\)[ .-]?|\d{2,5}[ .-])\d{2,8}(?:[ .-]\d{2,5}){0,3}(?![\d]|[.,]\d)/g;
const PHONE_STRONG_CTX = /phone|tel\b|tel\.|tel:|telephone|mobile|cell|call|fax|whatsapp|sms|téléphone|telefon|teléfono|handy/;
const PHONE_COMPACT = /(?<![\w+])0?\d{9,11}(?![\d])/g;
const PHONE_US_COMPACT = /(?<![\w+])\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}(?![\d])/g;

function phones(text: string, lower: string, out: Hit[]) {
  const seen = new Set<number>();
  const add = (start: number, raw0: string, score: number) => {
    let raw = raw0;
    while (raw.endsWith(")") && (raw.match(/\(/g)?.length ?? 0) < (raw.match(/\)/g)?.length ?? 0)) raw = raw.slice(0, -1).trimEnd();
    const d = digitsOf(raw);
    if (d.length < 7 || d.length > 15 || /^(\d)\1+$/.test(d) || seen.has(start)) return;
    seen.add(start);
    out.push({ type: "phone_number", start, end: start + raw.length, score });
  };
  if (text.includes("+")) {
    PHONE_INTL.lastIndex = 0;
    for (let m = PHONE_INTL.exec(text); m !== null; m = PHONE_INTL.exec(text)) {
      const d = digitsOf(m[0]);
      if (d.length >= 8 && d.length <= 15) add(m.index, m[0].trimEnd(), near(lower, m.index, m.index + m[0].length, PHONE_CTX) ? 0.9 : 0.75);
    }
  }
  PHONE_US_COMPACT.lastIndex = 0;
  for (let m = PHONE_US_COMPACT.exec(text); m !== null; m = PHONE_US_COMPACT.exec(text)) {
    const raw = m[0];
    const formatted = /^\(\d{3}\)|^\d{3}[ .-]\d{3}[ .-]\d{4}$/.test(raw);
    const ctx = near(lower, m.index, m.index + raw.length, PHONE_CTX);
    if (!formatted && !ctx) continue;
    const area = digitsOf(raw).slice(0, 3);
    if (area[0] === "0" || area[0] === "1") {
      if (!ctx) continue;
    }
    add(m.index, raw, ctx ? 0.85 : 0.6);
  }
  PHONE_NATIONAL.lastIndex = 0;
  for (let m = PHONE_NATIONAL.exec(text); m !== null; m = PHONE_NATIONAL.exec(text)) {
    const raw = m[0].trimEnd();
    const d = digitsOf(raw);
    if (d.length < 7 || d.length > 13) continue;
    if (/^\d{4}[ .-]\d{2}[ .-]\d{2}$|^\d{2}[ .-]\d{2}[ .-]\d{4}$/.test(raw)) continue; // dates
    if (!near(lower, m.index, m.index + raw.length, PHONE_CTX, 50, 10)) continue;
    add(m.index, raw, 0.7);
  }
  PHONE_COMPACT.lastIndex = 0;
  for (let m = PHONE_COMPACT.exec(text); m !== null; m = PHONE_COMPACT.exec(text)) {
    if (near(lower, m.index, m.index + m[0].length, PHONE_STRONG_CTX, 40, 5)) add(m.index, m[0], 0.65);
  }
}

// ---------------------------------------------------------------------------------------------
// IP addresses

const IPV4 = /(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?:\/\d{1,2})?(?![\w]|\.\d)/g;

function ipv4Valid(s: string): boolean {
  const [addr = "", cidr] = s.split("/");
  if (cidr !== undefined && Number(cidr) > 32) return false;
  return addr.split(".").every((o) => o.length > 0 && Number(o) <= 255 && !(o.length > 1 && o[0] === "0"));
}

const IPV6 = /(?<![\w:.])(?:[0-9A-Fa-f]{1,4}:|:){1,7}(?::|[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})(?:%[A-Za-z0-9]{1,16})?(?:\/\d{1,3})?(?![\w:]|\.\d)/g;

export function ipv6Valid(s: string): boolean {
  let addr = s.split("/")[0] as string;
  const cidr = s.split("/")[1];
  if (cidr !== undefined && Number(cidr) > 128) return false;
  addr = addr.replace(/%[A-Za-z0-9]+$/, "");
  let groupsMax = 8;
  const v4 = addr.match(/(?:\d{1,3}\.){3}\d{1,3}$/);
  if (v4) {
    if (!ipv4Valid(v4[0])) return false;
    addr = addr.slice(0, -v4[0].length);
    if (addr.endsWith(":") && !addr.endsWith("::")) addr = addr.slice(0, -1);
    groupsMax = 6;
  }
  const dbl = addr.split("::");
  if (dbl.length > 2) return false;
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const left = groups(dbl[0] as string);
  const right = dbl.length === 2 ? groups(dbl[1] as string) : [];
  const all = [...left, ...right];
  if (!all.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  if (dbl.length === 2) return all.length <= groupsMax - 1;
  return all.length === groupsMax;
}

function ips(text: string, out: Hit[]) {
  if (text.includes(".")) {
    IPV4.lastIndex = 0;
    for (let m = IPV4.exec(text); m !== null; m = IPV4.exec(text)) {
      if (!ipv4Valid(m[0])) continue;
      // "Version 1.2.3.4" style strings follow a version word.
      if (/(?:\bversion|\bv|\bver\.?)\s?$/i.test(text.slice(Math.max(0, m.index - 9), m.index))) continue;
      out.push({ type: "ip_address", start: m.index, end: m.index + m[0].length, score: 0.7 });
    }
  }
  if (text.includes(":")) {
    IPV6.lastIndex = 0;
    for (let m = IPV6.exec(text); m !== null; m = IPV6.exec(text)) {
      let raw = m[0];
      if (raw.endsWith(".")) raw = raw.slice(0, -1);
      if (!ipv6Valid(raw)) continue;
      const unspecified = /^::(?:\/\d+)?$/.test(raw);
      out.push({ type: "ip_address", start: m.index, end: m.index + raw.length, score: unspecified ? 0.1 : 0.7 });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Dates of birth and passport numbers (context required)

const MONTHS = "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?";
const DATE = new RegExp(
  `(?<![\\d.])(?:\\d{4}[-/.]\\d{1,2}[-/.]\\d{1,2}|\\d{1,2}[-/.]\\d{1,2}[-/.](?:\\d{4}|\\d{2})|\\d{1,2}(?:st|nd|rd|th)?\\s(?:${MONTHS})\\.?,?\\s\\d{4}|(?:${MONTHS})\\.?\\s\\d{1,2}(?:st|nd|rd|th)?,?\\s\\d{4})(?![\\d]|\\.\\d)`,
  "gi",
);
const DOB_CTX = /born|birth|\bdob\b|d\.o\.b|birthday|date of birth|geboren|geburt|né le|née le|naissance|nacimiento|nato il|nata il|urodzon|fødd|född/;

function datesOfBirth(text: string, lower: string, out: Hit[]) {
  if (!DOB_CTX.test(lower)) return;
  DATE.lastIndex = 0;
  for (let m = DATE.exec(text); m !== null; m = DATE.exec(text)) {
    if (near(lower, m.index, m.index + m[0].length, DOB_CTX, 40, 10)) {
      out.push({ type: "date_of_birth", start: m.index, end: m.index + m[0].length, score: 0.85 });
    }
  }
}

const PASSPORT = /(?<![A-Za-z0-9])(?:[A-Z]{1,2}\d{6,8}|\d{9}|[A-Z]\d{2}[A-Z]\d{5}|[CFGHJKLMNPRTVWXYZ0-9]{9})(?![A-Za-z0-9])/g;
const PASSPORT_CTX = /passport|passeport|reisepass|pasaporte|passaporto|paszport|paspoort|travel document/;

function passports(text: string, lower: string, out: Hit[]) {
  if (!PASSPORT_CTX.test(lower)) return;
  PASSPORT.lastIndex = 0;
  for (let m = PASSPORT.exec(text); m !== null; m = PASSPORT.exec(text)) {
    if (!/\d{5}/.test(m[0])) continue;
    if (near(lower, m.index, m.index + m[0].length, PASSPORT_CTX, 50, 10)) {
      out.push({ type: "passport_number", start: m.index, end: m.index + m[0].length, score: 0.8 });
    }
  }
}

// ---------------------------------------------------------------------------------------------

/** Stronger, validated types win over weak shapes on overlapping spans. */
const PRIORITY: Record<string, number> = {
  email: 10, credit_card: 9, iban: 9, fr_nir: 8, es_dni: 8, es_nie: 8, it_fiscal_code: 8, fi_personal_identity_code: 8,
  uk_nino: 8, us_ssn: 7, nl_bsn: 7, de_tax_id: 7, pl_pesel: 6, se_personnummer: 7, uk_nhs_number: 7, passport_number: 5,
  date_of_birth: 5, ip_address: 4, phone_number: 3,
};

function detectPii(text: string, opts: DetectOptions = {}): Finding[] {
  if (text.length < 3) return [];
  const lower = text.toLowerCase();
  const hits: Hit[] = [];
  emails(text, hits);
  const hasDigit = /\d/.test(text);
  if (hasDigit) {
    cards(text, lower, hits);
    ibans(text, hits);
    ssns(text, lower, hits);
    ninos(text, lower, hits);
    spanishIds(text, lower, hits);
    codiciFiscali(text, hits);
    nirs(text, lower, hits);
    finnish(text, hits);
    numericIds(text, lower, hits);
    ips(text, hits);
    datesOfBirth(text, lower, hits);
    passports(text, lower, hits);
    phones(text, lower, hits);
  }
  const threshold = opts.threshold ?? 0.5;
  const kept = hits
    .filter((h) => h.score >= threshold)
    .sort((a, b) => (PRIORITY[b.type] ?? 0) - (PRIORITY[a.type] ?? 0) || b.score - a.score || b.end - b.start - (a.end - a.start));
  const res: Hit[] = [];
  for (const h of kept) {
    if (res.some((r) => h.start < r.end && r.start < h.end)) continue;
    res.push(h);
  }
  return res
    .sort((a, b) => a.start - b.start)
    .map((h) => ({ detector: NAME, type: h.type, start: h.start, end: h.end, score: h.score }));
}

export const piiDetector: Detector = { name: NAME, action: "redact", detect: detectPii };
