/** units.parse and units.parse_bytes (exact decimal arithmetic). */
import { normNum, parseDec, pow10, type Value } from "../value.ts";
import { argString, type BuiltinDef, BuiltinError, def } from "./registry.ts";

const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";

/** Split "12.5e3Ki" into ["12.5e3", "Ki"] (an 'e'/'E' followed by a digit or sign is an exponent). */
export function extractNumAndUnit(s: string): [string, string] {
  let first = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (isDigit(c) || c === "." || (i === 0 && (c === "-" || c === "+"))) continue;
    if (c === "e" || c === "E") {
      const n = s[i + 1];
      if (i === s.length - 1 || (!isDigit(n) && n !== "+" && n !== "-")) {
        first = i;
        break;
      }
      if (n === "+" || n === "-") i++;
      continue;
    }
    first = i;
    break;
  }
  if (first === -1) return [s, ""];
  if (first === 0) return ["", s];
  return [s.slice(0, first), s.slice(first)];
}

const K = 1000n;
const Ki = 1024n;
/** [mantissa, exponent10] multipliers for units.parse. */
const UNITS: Record<string, [bigint, number]> = {
  "": [1n, 0],
  m: [1n, -3],
  k: [1n, 3],
  K: [1n, 3],
  ki: [Ki, 0],
  Ki: [Ki, 0],
  M: [1n, 6],
  mi: [Ki ** 2n, 0],
  Mi: [Ki ** 2n, 0],
  g: [1n, 9],
  G: [1n, 9],
  gi: [Ki ** 3n, 0],
  Gi: [Ki ** 3n, 0],
  t: [1n, 12],
  T: [1n, 12],
  ti: [Ki ** 4n, 0],
  Ti: [Ki ** 4n, 0],
  p: [1n, 15],
  P: [1n, 15],
  pi: [Ki ** 5n, 0],
  Pi: [Ki ** 5n, 0],
  e: [1n, 18],
  E: [1n, 18],
  ei: [Ki ** 6n, 0],
  Ei: [Ki ** 6n, 0],
};

const BYTE_UNITS: Record<string, bigint> = {
  "": 1n,
  kb: K,
  k: K,
  kib: Ki,
  ki: Ki,
  mb: K ** 2n,
  m: K ** 2n,
  mib: Ki ** 2n,
  mi: Ki ** 2n,
  gb: K ** 3n,
  g: K ** 3n,
  gib: Ki ** 3n,
  gi: Ki ** 3n,
  tb: K ** 4n,
  t: K ** 4n,
  tib: Ki ** 4n,
  ti: Ki ** 4n,
  pb: K ** 5n,
  p: K ** 5n,
  pib: Ki ** 5n,
  pi: Ki ** 5n,
  eb: K ** 6n,
  e: K ** 6n,
  eib: Ki ** 6n,
  ei: Ki ** 6n,
};

/** Exact decimal of an amount string (big.Float.SetString-like syntax). */
function amount(num: string): { m: bigint; e: number } | undefined {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(num)) return undefined;
  return parseDec(num);
}

export function parseUnits(raw: string): Value {
  const s = raw.replaceAll('"', "");
  if (s.includes(" ")) throw new BuiltinError("spaces not allowed in resource strings");
  const [num, u] = extractNumAndUnit(s);
  if (num === "") throw new BuiltinError("no amount provided");
  const unit = u.length > 1 ? u[0] + u.slice(1).toLowerCase() : u;
  const mult = UNITS[unit];
  if (!mult) throw new BuiltinError(`unit ${unit} not recognized`);
  const d = amount(num);
  if (!d) throw new BuiltinError("could not parse amount to a number");
  return normNum(d.m * mult[0], d.e + mult[1]);
}

export function parseBytes(raw: string): Value {
  const s = raw.toLowerCase().replaceAll('"', "");
  if (s.includes(" ")) throw new BuiltinError("spaces not allowed in resource strings");
  const [num, unit] = extractNumAndUnit(s);
  if (num === "") throw new BuiltinError("no byte amount provided");
  const mult = BYTE_UNITS[unit];
  if (mult === undefined) throw new BuiltinError(`byte unit ${unit} not recognized`);
  const d = amount(num);
  if (!d) throw new BuiltinError("could not parse byte amount to a number");
  // truncate toward zero
  let total: bigint;
  if (d.e >= 0) total = d.m * mult * pow10(d.e);
  else total = (d.m * mult) / pow10(-d.e);
  return normNum(total, 0);
}

export const builtins: BuiltinDef[] = [
  def("units.parse", 1, (args) => parseUnits(argString(args, 0))),
  def("units.parse_bytes", 1, (args) => parseBytes(argString(args, 0))),
];
