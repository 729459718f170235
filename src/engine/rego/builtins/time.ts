/**
 * time.* builtins with Go `time` semantics: Go layouts ("2006-01-02T15:04:05Z07:00") for parsing
 * and formatting, int64 nanosecond timestamps, IANA time zones (via Intl), AddDate
 * normalisation, and Go's ParseDuration.
 */
import { type BigNum, isNumber, numFromBigInt, toBigInt, type Value } from "../value.ts";
import { argString, type BuiltinDef, BuiltinError, def, typeErr } from "./registry.ts";

const NS = 1000000000n;
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

// ---- civil calendar -------------------------------------------------------------------------

/** Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m 1..12, any d). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const y = yoe + era * 400;
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [m <= 2 ? y + 1 : y, m, d];
}

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const daysIn = (m: number, y: number) => (m === 2 ? (isLeap(y) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] as number);

const LONG_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const LONG_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

// ---- zones ------------------------------------------------------------------------------------

export interface Zone {
  name: string; // "UTC", IANA name, or "" for a fixed offset
  fixed?: number; // fixed offset seconds
}
export const UTC: Zone = { name: "UTC", fixed: 0 };

const dtfCache = new Map<string, Intl.DateTimeFormat>();
function dtf(tz: string): Intl.DateTimeFormat {
  let f = dtfCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      era: "short",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      timeZoneName: "short",
    });
    dtfCache.set(tz, f);
  }
  return f;
}

export function loadZone(name: string): Zone {
  if (name === "" || name === "UTC") return UTC;
  const tz = name === "Local" ? (new Intl.DateTimeFormat().resolvedOptions().timeZone ?? "UTC") : name;
  if (tz === "UTC") return name === "Local" ? { name: "Local", fixed: 0 } : UTC;
  try {
    dtf(tz);
  } catch {
    throw new BuiltinError(`unknown time zone ${name}`);
  }
  return { name: tz };
}

const MAX_JS_SEC = 8.64e12;

/** [offset seconds, abbreviation] of zone z at unix second `sec`. */
export function zoneAt(z: Zone, sec: number): [number, string] {
  if (z.fixed !== undefined) return [z.fixed, z.name === "Local" ? "UTC" : z.name];
  if (Math.abs(sec) >= MAX_JS_SEC) return [0, "UTC"];
  const parts = dtf(z.name).formatToParts(new Date(sec * 1000));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  let y = Number(get("year"));
  if (get("era") === "BC" || get("era") === "B") y = 1 - y;
  const wall = daysFromCivil(y, Number(get("month")), Number(get("day"))) * 86400 + Number(get("hour")) * 3600 + Number(get("minute")) * 60 + Number(get("second"));
  const floorSec = Math.floor(sec);
  const off = wall - floorSec;
  let abbr = get("timeZoneName");
  if (/^GMT[+-]/.test(abbr) || abbr === "GMT") {
    // Go prints numeric abbreviations like "+0530" for zones without a letter abbreviation
    const a = Math.abs(off);
    const hh = Math.floor(a / 3600);
    const mm = Math.floor((a % 3600) / 60);
    abbr = off === 0 && abbr === "GMT" ? "GMT" : `${off < 0 ? "-" : "+"}${String(hh).padStart(2, "0")}${mm ? String(mm).padStart(2, "0") : ""}`;
  }
  return [off, abbr];
}

/** A broken-down instant: unix seconds + nanoseconds, in a zone. */
export interface GoTime {
  sec: number; // unix seconds (integer)
  nsec: number; // 0..999999999
  zone: Zone;
}

export function fromNs(ns: bigint, zone: Zone = UTC): GoTime {
  let sec = ns / NS;
  let nsec = ns % NS;
  if (nsec < 0n) {
    nsec += NS;
    sec -= 1n;
  }
  return { sec: Number(sec), nsec: Number(nsec), zone };
}

export function toNs(t: GoTime): bigint {
  return BigInt(t.sec) * NS + BigInt(t.nsec);
}

interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  min: number;
  sec: number;
  nsec: number;
  wday: number;
  yday: number;
  offset: number;
  abbr: string;
}

export function fields(t: GoTime): Fields {
  const [offset, abbr] = zoneAt(t.zone, t.sec);
  const local = t.sec + offset;
  const days = Math.floor(local / 86400);
  const rem = local - days * 86400;
  const [year, month, day] = civilFromDays(days);
  return {
    year,
    month,
    day,
    hour: Math.floor(rem / 3600),
    min: Math.floor((rem % 3600) / 60),
    sec: rem % 60,
    nsec: t.nsec,
    wday: (((days + 4) % 7) + 7) % 7,
    yday: days - daysFromCivil(year, 1, 1) + 1,
    offset,
    abbr,
  };
}

/** Go's time.Date with normalisation, in zone z. */
export function goDate(year: number, month: number, day: number, hour: number, min: number, sec: number, nsec: number, z: Zone): GoTime {
  // normalise month
  let m0 = month - 1;
  year += Math.floor(m0 / 12);
  m0 = ((m0 % 12) + 12) % 12;
  // normalise nsec → sec
  sec += Math.floor(nsec / 1e9);
  nsec = ((nsec % 1e9) + 1e9) % 1e9;
  const wall = daysFromCivil(year, m0 + 1, 1) * 86400 + (day - 1) * 86400 + hour * 3600 + min * 60 + sec;
  let [off] = zoneAt(z, wall);
  let utc = wall - off;
  const [off2] = zoneAt(z, utc);
  if (off2 !== off) {
    off = off2;
    utc = wall - off;
  }
  return { sec: utc, nsec, zone: z };
}

function checkRange(ns: bigint): bigint {
  if (ns > INT64_MAX || ns < INT64_MIN) throw new BuiltinError("time outside of valid range");
  return ns;
}

// ---- layouts ----------------------------------------------------------------------------------

export const NAMED_LAYOUTS: Record<string, string> = {
  ANSIC: "Mon Jan _2 15:04:05 2006",
  UnixDate: "Mon Jan _2 15:04:05 MST 2006",
  RubyDate: "Mon Jan 02 15:04:05 -0700 2006",
  RFC822: "02 Jan 06 15:04 MST",
  RFC822Z: "02 Jan 06 15:04 -0700",
  RFC850: "Monday, 02-Jan-06 15:04:05 MST",
  RFC1123: "Mon, 02 Jan 2006 15:04:05 MST",
  RFC1123Z: "Mon, 02 Jan 2006 15:04:05 -0700",
  RFC3339: "2006-01-02T15:04:05Z07:00",
  RFC3339Nano: "2006-01-02T15:04:05.999999999Z07:00",
};

type Std =
  | "Jan"
  | "January"
  | "Mon"
  | "Monday"
  | "MST"
  | "1"
  | "01"
  | "2"
  | "_2"
  | "02"
  | "__2"
  | "002"
  | "06"
  | "2006"
  | "15"
  | "3"
  | "03"
  | "4"
  | "04"
  | "5"
  | "05"
  | "PM"
  | "pm"
  | "-070000"
  | "-07:00:00"
  | "-0700"
  | "-07:00"
  | "-07"
  | "Z070000"
  | "Z07:00:00"
  | "Z0700"
  | "Z07:00"
  | "Z07"
  | "frac0"
  | "frac9";

interface Chunk {
  lit: string;
  std?: Std;
  digits?: number; // fractional digits
  sep?: string; // '.' or ','
}

const isDigitAt = (s: string, i: number) => i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57;

/** Split a layout into literal + std chunks (Go's nextStdChunk). */
export function layoutChunks(layout: string): Chunk[] {
  const out: Chunk[] = [];
  let lit = "";
  let i = 0;
  const push = (std: Std, len: number, extra: Partial<Chunk> = {}) => {
    out.push({ lit, std, ...extra });
    lit = "";
    i += len;
  };
  while (i < layout.length) {
    const rest = layout.slice(i);
    const c = layout[i];
    if (c === "J" && rest.startsWith("Jan")) {
      if (rest.startsWith("January")) push("January", 7);
      else push("Jan", 3);
      continue;
    }
    if (c === "M" && rest.startsWith("Mon")) {
      if (rest.startsWith("Monday")) push("Monday", 6);
      else push("Mon", 3);
      continue;
    }
    if (c === "M" && rest.startsWith("MST")) {
      push("MST", 3);
      continue;
    }
    if (c === "0" && i + 1 < layout.length && layout[i + 1] as string >= "1" && (layout[i + 1] as string) <= "6") {
      push(["01", "02", "03", "04", "05", "06"][Number(layout[i + 1]) - 1] as Std, 2);
      continue;
    }
    if (c === "0" && rest.startsWith("002")) {
      push("002", 3);
      continue;
    }
    if (c === "1") {
      if (rest.startsWith("15")) push("15", 2);
      else push("1", 1);
      continue;
    }
    if (c === "2") {
      if (rest.startsWith("2006")) push("2006", 4);
      else push("2", 1);
      continue;
    }
    if (c === "_") {
      if (rest.startsWith("_2")) {
        if (rest.startsWith("_2006")) {
          lit += "_";
          i += 1;
          push("2006", 4);
          continue;
        }
        push("_2", 2);
        continue;
      }
      if (rest.startsWith("__2")) {
        push("__2", 3);
        continue;
      }
    }
    if (c === "3" || c === "4" || c === "5") {
      push(c as Std, 1);
      continue;
    }
    if (c === "P" && rest.startsWith("PM")) {
      push("PM", 2);
      continue;
    }
    if (c === "p" && rest.startsWith("pm")) {
      push("pm", 2);
      continue;
    }
    if (c === "-" || c === "Z") {
      const cands = ["070000", "07:00:00", "0700", "07:00", "07"];
      const hit = cands.find((x) => rest.startsWith(c + x));
      if (hit) {
        push((c + hit) as Std, hit.length + 1);
        continue;
      }
    }
    if ((c === "." || c === ",") && i + 1 < layout.length && (layout[i + 1] === "0" || layout[i + 1] === "9")) {
      const ch = layout[i + 1];
      let j = i + 1;
      while (j < layout.length && layout[j] === ch) j++;
      if (!isDigitAt(layout, j)) {
        push(ch === "0" ? "frac0" : "frac9", j - i, { digits: j - (i + 1), sep: c });
        continue;
      }
    }
    lit += c;
    i++;
  }
  if (lit !== "") out.push({ lit });
  return out;
}

const pad = (n: number, w: number) => {
  const s = String(Math.abs(n)).padStart(w, "0");
  return n < 0 ? `-${s}` : s;
};

/** Go's Time.Format. */
export function formatTime(t: GoTime, layout: string): string {
  const f = fields(t);
  let out = "";
  for (const ch of layoutChunks(layout)) {
    out += ch.lit;
    if (!ch.std) continue;
    switch (ch.std) {
      case "2006":
        out += pad(f.year, 4);
        break;
      case "06":
        out += pad(((f.year % 100) + 100) % 100, 2);
        break;
      case "Jan":
        out += (LONG_MONTHS[f.month - 1] as string).slice(0, 3);
        break;
      case "January":
        out += LONG_MONTHS[f.month - 1];
        break;
      case "1":
        out += String(f.month);
        break;
      case "01":
        out += pad(f.month, 2);
        break;
      case "Mon":
        out += (LONG_DAYS[f.wday] as string).slice(0, 3);
        break;
      case "Monday":
        out += LONG_DAYS[f.wday];
        break;
      case "2":
        out += String(f.day);
        break;
      case "_2":
        out += f.day < 10 ? ` ${f.day}` : String(f.day);
        break;
      case "02":
        out += pad(f.day, 2);
        break;
      case "__2":
        out += String(f.yday).padStart(3, " ");
        break;
      case "002":
        out += pad(f.yday, 3);
        break;
      case "15":
        out += pad(f.hour, 2);
        break;
      case "3":
        out += String(f.hour % 12 === 0 ? 12 : f.hour % 12);
        break;
      case "03":
        out += pad(f.hour % 12 === 0 ? 12 : f.hour % 12, 2);
        break;
      case "4":
        out += String(f.min);
        break;
      case "04":
        out += pad(f.min, 2);
        break;
      case "5":
        out += String(f.sec);
        break;
      case "05":
        out += pad(f.sec, 2);
        break;
      case "PM":
        out += f.hour >= 12 ? "PM" : "AM";
        break;
      case "pm":
        out += f.hour >= 12 ? "pm" : "am";
        break;
      case "MST": {
        if (f.abbr !== "") out += f.abbr;
        else {
          const z = Math.trunc(f.offset / 60);
          out += (z < 0 ? "-" : "+") + pad(Math.floor(Math.abs(z) / 60), 2) + pad(Math.abs(z) % 60, 2);
        }
        break;
      }
      case "frac0": {
        const s = pad(f.nsec, 9).slice(0, ch.digits);
        out += (ch.sep as string) + s;
        break;
      }
      case "frac9": {
        let s = pad(f.nsec, 9).slice(0, ch.digits).replace(/0+$/, "");
        if (s !== "") out += (ch.sep as string) + s;
        else s = "";
        break;
      }
      default: {
        // numeric / ISO 8601 zones
        const std = ch.std;
        if (std.startsWith("Z") && f.offset === 0) {
          out += "Z";
          break;
        }
        const z = f.offset;
        const a = Math.abs(z);
        let s = z < 0 ? "-" : "+";
        s += pad(Math.floor(a / 3600), 2);
        const body = std.slice(1);
        if (body === "07:00" || body === "07:00:00") s += `:${pad(Math.floor((a % 3600) / 60), 2)}`;
        else if (body === "0700" || body === "070000") s += pad(Math.floor((a % 3600) / 60), 2);
        if (body === "07:00:00") s += `:${pad(a % 60, 2)}`;
        else if (body === "070000") s += pad(a % 60, 2);
        out += s;
      }
    }
  }
  return out;
}

// ---- parsing (Go's time.Parse) -----------------------------------------------------------------

function quote(s: string): string {
  return JSON.stringify(s);
}

class ParseErr extends Error {}

function parseErr(layout: string, value: string, layoutElem: string, valueElem: string, msg = ""): ParseErr {
  if (msg !== "") return new ParseErr(`parsing time ${quote(value)}${msg}`);
  return new ParseErr(`parsing time ${quote(value)} as ${quote(layout)}: cannot parse ${quote(valueElem)} as ${quote(layoutElem)}`);
}

function lookupName(names: string[], val: string, len?: number): [number, string] | undefined {
  for (let i = 0; i < names.length; i++) {
    const n = len ? (names[i] as string).slice(0, len) : (names[i] as string);
    if (val.length >= n.length && val.slice(0, n.length).toLowerCase() === n.toLowerCase()) return [i, val.slice(n.length)];
  }
  return undefined;
}

/** getnum: one or two digits (two required when fixed). */
function getnum(s: string, fixed: boolean): [number, string] | undefined {
  if (!isDigitAt(s, 0)) return undefined;
  if (!isDigitAt(s, 1)) {
    if (fixed) return undefined;
    return [Number(s[0]), s.slice(1)];
  }
  return [Number(s.slice(0, 2)), s.slice(2)];
}

function getnum3(s: string, fixed: boolean): [number, string] | undefined {
  let n = 0;
  let i = 0;
  for (; i < 3 && isDigitAt(s, i); i++) n = n * 10 + Number(s[i]);
  if (i === 0 || (fixed && i !== 3)) return undefined;
  return [n, s.slice(i)];
}

export function parseTime(layoutIn: string, value: string, defaultZone: Zone = UTC): GoTime {
  const layout = layoutIn;
  const origValue = value;
  const chunks = layoutChunks(layout);
  let year = 0;
  let month = -1;
  let day = -1;
  let yday = -1;
  let hour = 0;
  let min = 0;
  let sec = 0;
  let nsec = 0;
  let pmSet = false;
  let amSet = false;
  let zoneOffset: number | undefined;
  let zoneName = "";
  let rangeErr = "";
  for (let ci = 0; ci < chunks.length; ci++) {
    const ch = chunks[ci] as Chunk;
    // literal prefix
    if (ch.lit !== "") {
      let lit = ch.lit;
      let v = value;
      // Go's skip: spaces in layout match runs of spaces in value
      while (lit.length > 0) {
        const c = lit[0] as string;
        if (c === " ") {
          if (v.length > 0 && v[0] !== " ") throw parseErr(layout, origValue, ch.lit, value);
          lit = lit.replace(/^ +/, "");
          v = v.replace(/^ +/, "");
          continue;
        }
        if (v.length === 0 || v[0] !== c) throw parseErr(layout, origValue, ch.lit, value);
        lit = lit.slice(1);
        v = v.slice(1);
      }
      value = v;
    }
    if (!ch.std) continue;
    const std = ch.std;
    const hold = value;
    let ok = true;
    switch (std) {
      case "2006": {
        if (value.length < 4 || !/^\d{4}/.test(value)) {
          ok = false;
          break;
        }
        year = Number(value.slice(0, 4));
        value = value.slice(4);
        break;
      }
      case "06": {
        const r = /^\d\d/.exec(value);
        if (!r) {
          ok = false;
          break;
        }
        year = Number(r[0]);
        year += year >= 69 ? 1900 : 2000;
        value = value.slice(2);
        break;
      }
      case "Jan":
      case "January": {
        const r = lookupName(LONG_MONTHS, value, std === "Jan" ? 3 : undefined);
        if (!r) {
          ok = false;
          break;
        }
        month = r[0] + 1;
        value = r[1];
        break;
      }
      case "1":
      case "01": {
        const r = getnum(value, std === "01");
        if (!r) {
          ok = false;
          break;
        }
        month = r[0];
        value = r[1];
        if (month <= 0 || month > 12) rangeErr = "month";
        break;
      }
      case "Mon":
      case "Monday": {
        const r = lookupName(LONG_DAYS, value, std === "Mon" ? 3 : undefined);
        if (!r) {
          ok = false;
          break;
        }
        value = r[1];
        break;
      }
      case "2":
      case "_2":
      case "02": {
        let v = value;
        if (std === "_2" && v.length > 0 && v[0] === " ") v = v.slice(1);
        const r = getnum(v, std === "02");
        if (!r) {
          ok = false;
          break;
        }
        day = r[0];
        value = r[1];
        break;
      }
      case "__2":
      case "002": {
        let v = value;
        if (std === "__2") v = v.replace(/^ {1,2}/, "");
        const r = getnum3(v, std === "002");
        if (!r) {
          ok = false;
          break;
        }
        yday = r[0];
        value = r[1];
        if (yday < 1 || yday > 366) rangeErr = "day-of-year";
        break;
      }
      case "15": {
        const r = getnum(value, false);
        if (!r) {
          ok = false;
          break;
        }
        hour = r[0];
        value = r[1];
        if (hour < 0 || hour >= 24) rangeErr = "hour";
        break;
      }
      case "3":
      case "03": {
        const r = getnum(value, std === "03");
        if (!r) {
          ok = false;
          break;
        }
        hour = r[0];
        value = r[1];
        if (hour < 0 || hour > 12) rangeErr = "hour";
        break;
      }
      case "4":
      case "04": {
        const r = getnum(value, std === "04");
        if (!r) {
          ok = false;
          break;
        }
        min = r[0];
        value = r[1];
        if (min < 0 || min >= 60) rangeErr = "minute";
        break;
      }
      case "5":
      case "05": {
        const r = getnum(value, std === "05");
        if (!r) {
          ok = false;
          break;
        }
        sec = r[0];
        value = r[1];
        if (sec < 0 || sec >= 60) {
          rangeErr = "second";
          break;
        }
        // fractional second in the value but not in the layout
        if (value.length >= 2 && (value[0] === "." || value[0] === ",") && isDigitAt(value, 1)) {
          const next = chunks[ci + 1];
          if (next && next.lit === "" && (next.std === "frac0" || next.std === "frac9")) break;
          let n = 2;
          while (n < value.length && isDigitAt(value, n)) n++;
          nsec = fracNanos(value.slice(1, n));
          value = value.slice(n);
        }
        break;
      }
      case "PM":
      case "pm": {
        const p = value.slice(0, 2);
        const want = std === "PM" ? ["PM", "AM"] : ["pm", "am"];
        if (p === want[0]) pmSet = true;
        else if (p === want[1]) amSet = true;
        else {
          ok = false;
          break;
        }
        value = value.slice(2);
        break;
      }
      case "MST": {
        if (value.startsWith("UTC")) {
          zoneName = "UTC";
          zoneOffset = zoneOffset ?? undefined;
          value = value.slice(3);
          break;
        }
        const r = /^(?:[A-Z]{3,5}|GMT[+-]\d{1,2})/.exec(value);
        if (!r) {
          ok = false;
          break;
        }
        zoneName = r[0];
        value = value.slice(r[0].length);
        break;
      }
      case "frac0": {
        const n = (ch.digits as number) + 1;
        if (value.length < n || (value[0] !== "." && value[0] !== ",") || !/^\d+$/.test(value.slice(1, n))) {
          ok = false;
          break;
        }
        nsec = fracNanos(value.slice(1, n));
        value = value.slice(n);
        break;
      }
      case "frac9": {
        if (value.length < 2 || (value[0] !== "." && value[0] !== ",") || value[1] === undefined || !isDigitAt(value, 1)) break;
        let i = 0;
        while (i + 1 < value.length && isDigitAt(value, i + 1)) i++;
        nsec = fracNanos(value.slice(1, 1 + i));
        value = value.slice(1 + i);
        break;
      }
      default: {
        // numeric zone
        if (std.startsWith("Z") && value.startsWith("Z")) {
          value = value.slice(1);
          zoneOffset = 0;
          zoneName = "UTC";
          break;
        }
        const body = std.slice(1);
        const re =
          body === "07:00:00"
            ? /^([+-])(\d\d):(\d\d):(\d\d)/
            : body === "070000"
              ? /^([+-])(\d\d)(\d\d)(\d\d)/
              : body === "07:00"
                ? /^([+-])(\d\d):(\d\d)/
                : body === "0700"
                  ? /^([+-])(\d\d)(\d\d)/
                  : /^([+-])(\d\d)/;
        const r = re.exec(value);
        if (!r) {
          ok = false;
          break;
        }
        const hh = Number(r[2]);
        const mm = Number(r[3] ?? "0");
        const ss = Number(r[4] ?? "0");
        if (hh > 24 || mm > 60 || ss > 60) {
          rangeErr = "time zone offset";
          break;
        }
        let off = (hh * 60 + mm) * 60 + ss;
        if (r[1] === "-") off = -off;
        zoneOffset = off;
        value = value.slice(r[0].length);
      }
    }
    if (rangeErr !== "") throw parseErr(layout, origValue, "", "", `: ${rangeErr} out of range`);
    if (!ok) throw parseErr(layout, origValue, std === "frac0" || std === "frac9" ? (ch.sep as string) + (std === "frac0" ? "0" : "9").repeat(ch.digits as number) : std, hold);
  }
  if (pmSet && hour < 12) hour += 12;
  else if (amSet && hour === 12) hour = 0;
  if (value.length > 0) throw new ParseErr(`parsing time ${quote(origValue)}: extra text: ${quote(value)}`);
  if (yday >= 0) {
    let m = 0;
    let d = 0;
    if (isLeap(year)) {
      if (yday === 31 + 29) {
        m = 2;
        d = 29;
      } else if (yday > 31 + 29) yday--;
    }
    if (m === 0) {
      if (yday < 1 || yday > 365) throw parseErr(layout, origValue, "", "", ": day-of-year out of range");
      let acc = 0;
      for (m = 1; m <= 12; m++) {
        const dim = m === 2 ? 28 : daysIn(m, 2001);
        if (yday <= acc + dim) {
          d = yday - acc;
          break;
        }
        acc += dim;
      }
    }
    if (month >= 0 && month !== m) throw parseErr(layout, origValue, "", "", ": day-of-year does not match month");
    month = m;
    if (day >= 0 && day !== d) throw parseErr(layout, origValue, "", "", ": day-of-year does not match day");
    day = d;
  } else {
    if (month < 0) month = 1;
    if (day < 0) day = 1;
  }
  if (day < 1 || day > daysIn(month, year)) throw parseErr(layout, origValue, "", "", ": day out of range");
  if (zoneOffset !== undefined) {
    const t = goDate(year, month, day, hour, min, sec, nsec, UTC);
    return { sec: t.sec - zoneOffset, nsec: t.nsec, zone: zoneOffset === 0 && zoneName === "UTC" ? UTC : { name: "", fixed: zoneOffset } };
  }
  if (zoneName !== "") {
    // abbreviation without offset: Go fabricates a zero-offset zone (UTC is UTC)
    const t = goDate(year, month, day, hour, min, sec, nsec, UTC);
    return { sec: t.sec, nsec: t.nsec, zone: zoneName === "UTC" ? UTC : { name: zoneName, fixed: 0 } };
  }
  return goDate(year, month, day, hour, min, sec, nsec, defaultZone);
}

function fracNanos(digits: string): number {
  const d = digits.slice(0, 9).padEnd(9, "0");
  return Number(d);
}

// ---- durations ------------------------------------------------------------------------------

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1000n,
  "\u00b5s": 1000n,
  "\u03bcs": 1000n,
  ms: 1000000n,
  s: NS,
  m: 60n * NS,
  h: 3600n * NS,
};

/** Go's time.ParseDuration. */
export function parseDuration(orig: string): bigint {
  let s = orig;
  const invalid = () => new BuiltinError(`time: invalid duration ${quote(orig)}`);
  let neg = false;
  if (s !== "" && (s[0] === "-" || s[0] === "+")) {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0n;
  if (s === "") throw invalid();
  let total = 0n;
  while (s !== "") {
    if (!(s[0] === "." || isDigitAt(s, 0))) throw invalid();
    const m = /^(\d*)(?:\.(\d*))?/.exec(s) as RegExpExecArray;
    const intPart = m[1] ?? "";
    const frac = m[2];
    if (intPart === "" && (frac === undefined || frac === "")) throw invalid();
    s = s.slice(m[0].length);
    const u = /^[^\d.]*/.exec(s) as RegExpExecArray;
    const unit = u[0];
    if (unit === "") throw new BuiltinError(`time: missing unit in duration ${quote(orig)}`);
    const mult = UNIT_NS[unit];
    if (mult === undefined) throw new BuiltinError(`time: unknown unit ${quote(unit)} in duration ${quote(orig)}`);
    s = s.slice(unit.length);
    let v = BigInt(intPart === "" ? "0" : intPart) * mult;
    if (frac) {
      const scale = 10n ** BigInt(frac.length);
      v += (BigInt(frac) * mult) / scale;
    }
    total += v;
    if (total > (neg ? -INT64_MIN : INT64_MAX)) throw invalid();
  }
  return neg ? -total : total;
}

// ---- operands ---------------------------------------------------------------------------------

function nsOf(v: Value, pos: number): bigint {
  if (!isNumber(v)) throw typeErr(pos, "number", v);
  if (typeof v === "number" ? !Number.isInteger(v) : !(v as BigNum).isInt) throw new BuiltinError("timestamp too big");
  const b = toBigInt(v);
  if (b > INT64_MAX || b < INT64_MIN) throw new BuiltinError("timestamp too big");
  return b;
}

/** OPA's tzTime: ns | [ns] | [ns, tz] | [ns, tz, layout]. */
export function tzTime(v: Value, pos = 1): { t: GoTime; layout: string } {
  let layout = NAMED_LAYOUTS.RFC3339Nano as string;
  if (Array.isArray(v)) {
    if (v.length === 0) throw typeErr(pos, "either number (ns) or [number (ns), string (tz)]", v);
    const ns = nsOf(v[0] as Value, pos);
    let zone = UTC;
    if (v.length > 1) {
      const tz = v[1] as Value;
      if (typeof tz !== "string") throw typeErr(pos, "string", tz);
      zone = loadZone(tz);
    }
    if (v.length > 2) {
      const l = v[2] as Value;
      if (typeof l !== "string") throw typeErr(pos, "string", l);
      layout = NAMED_LAYOUTS[l] ?? l;
    }
    return { t: fromNs(ns, zone), layout };
  }
  if (isNumber(v)) return { t: fromNs(nsOf(v, pos), UTC), layout };
  throw typeErr(pos, "either number (ns) or [number (ns), string (tz)]", v);
}

function intOp(args: Value[], i: number): number {
  const v = args[i] as Value;
  if (!isNumber(v)) throw typeErr(i + 1, "number", v);
  if (typeof v !== "number" || !Number.isInteger(v)) throw new BuiltinError(`operand ${i + 1} must be integer number but got floating-point number`, "eval_type_error");
  return v;
}

function parseWith(layout: string, value: string): bigint {
  let t: GoTime;
  try {
    t = parseTime(NAMED_LAYOUTS[layout] ?? layout, value);
  } catch (e) {
    if (e instanceof ParseErr) throw new BuiltinError(e.message);
    throw e;
  }
  return checkRange(toNs(t));
}

export const builtins: BuiltinDef[] = [
  // OPA's test helper: sleep for a Go duration (evaluation is synchronous, so this blocks)
  def(
    "test.sleep",
    1,
    (args) => {
      const ns = parseDuration(argString(args, 0));
      if (ns > 0n) Bun.sleepSync(Number(ns / 1000000n));
      return null;
    },
    { nondeterministic: true },
  ),
  def("time.now_ns", 0, (_a, ctx) => numFromBigInt(ctx.timeNs), { nondeterministic: true }),
  def("time.parse_ns", 2, (args) => numFromBigInt(parseWith(argString(args, 0), argString(args, 1)))),
  def("time.parse_rfc3339_ns", 1, (args) => numFromBigInt(parseWith(NAMED_LAYOUTS.RFC3339 as string, argString(args, 0)))),
  def("time.parse_duration_ns", 1, (args) => numFromBigInt(parseDuration(argString(args, 0)))),
  def("time.date", 1, ([x]) => {
    const f = fields(tzTime(x as Value).t);
    return [f.year, f.month, f.day];
  }),
  def("time.clock", 1, ([x]) => {
    const f = fields(tzTime(x as Value).t);
    return [f.hour, f.min, f.sec];
  }),
  def("time.weekday", 1, ([x]) => LONG_DAYS[fields(tzTime(x as Value).t).wday] as string),
  def("time.format", 1, ([x]) => {
    const { t, layout } = tzTime(x as Value);
    return formatTime(t, layout);
  }),
  def("time.add_date", 4, (args) => {
    const { t } = tzTime(args[0] as Value);
    const years = intOp(args, 1);
    const months = intOp(args, 2);
    const days = intOp(args, 3);
    const f = fields(t);
    const r = goDate(f.year + years, f.month + months, f.day + days, f.hour, f.min, f.sec, f.nsec, t.zone);
    return numFromBigInt(checkRange(toNs(r)));
  }),
  def("time.diff", 2, (args) => {
    let t1 = tzTime(args[0] as Value, 1).t;
    let t2 = tzTime(args[1] as Value, 2).t;
    t2 = { ...t2, zone: t1.zone };
    if (toNs(t1) > toNs(t2)) [t1, t2] = [t2, t1];
    const a = fields(t1);
    const b = fields(t2);
    let year = b.year - a.year;
    let month = b.month - a.month;
    let day = b.day - a.day;
    let hour = b.hour - a.hour;
    let min = b.min - a.min;
    let sec = b.sec - a.sec;
    if (sec < 0) {
      sec += 60;
      min--;
    }
    if (min < 0) {
      min += 60;
      hour--;
    }
    if (hour < 0) {
      hour += 24;
      day--;
    }
    if (day < 0) {
      // days in a.month: Date(y1, M1, 32) normalises into the next month
      const [, , d32] = civilFromDays(daysFromCivil(a.year, a.month, 1) + 31);
      day += 32 - d32;
      month--;
    }
    if (month < 0) {
      month += 12;
      year--;
    }
    return [year, month, day, hour, min, sec];
  }),
];
