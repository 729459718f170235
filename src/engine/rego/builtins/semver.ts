/** semver.is_valid and semver.compare (OPA's internal/semver rules). */
import type { Value } from "../value.ts";
import { argString, type BuiltinDef, BuiltinError, def } from "./registry.ts";

export interface SemVer {
  major: bigint;
  minor: bigint;
  patch: bigint;
  pre: string;
  meta: string;
}

const IDENT = /^[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$/;
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** Go strconv.ParseInt(s, 10, 64). */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const v = BigInt(s);
  if (v > INT64_MAX || v < INT64_MIN) return undefined;
  return v;
}

export function parseSemVer(input: string): SemVer | undefined {
  let v = input;
  let meta = "";
  let pre = "";
  const plus = v.indexOf("+");
  if (plus >= 0) {
    meta = v.slice(plus + 1);
    v = v.slice(0, plus);
  }
  const dash = v.indexOf("-");
  if (dash >= 0) {
    pre = v.slice(dash + 1);
    v = v.slice(0, dash);
  }
  const parts = v.split(".");
  if (parts.length < 3) return undefined;
  const dot = [parts[0] as string, parts[1] as string, parts.slice(2).join(".")];
  if (pre !== "" && !IDENT.test(pre)) return undefined;
  if (meta !== "" && !IDENT.test(meta)) return undefined;
  const nums = dot.map(parseInt64);
  if (nums.some((n) => n === undefined)) return undefined;
  return { major: nums[0] as bigint, minor: nums[1] as bigint, patch: nums[2] as bigint, pre, meta };
}

function atoi(s: string): bigint | undefined {
  return parseInt64(s);
}

function comparePre(a: string[], b: string[]): number {
  for (let i = 0; ; i++) {
    if (i >= a.length) return i >= b.length ? 0 : -1;
    if (i >= b.length) return 1;
    const x = a[i] as string;
    const y = b[i] as string;
    const xi = atoi(x);
    const yi = atoi(y);
    if (xi !== undefined && yi === undefined) return -1;
    if (xi === undefined && yi !== undefined) return 1;
    if (xi !== undefined && yi !== undefined) {
      if (xi > yi) return 1;
      if (xi < yi) return -1;
    }
    if (x > y) return 1;
    if (x < y) return -1;
  }
}

export function compareSemVer(a: SemVer, b: SemVer): number {
  for (const k of ["major", "minor", "patch"] as const) {
    if (a[k] > b[k]) return 1;
    if (a[k] < b[k]) return -1;
  }
  if (a.pre === "" && b.pre !== "") return 1;
  if (b.pre === "" && a.pre !== "") return -1;
  return comparePre(a.pre === "" ? [] : a.pre.split("."), b.pre === "" ? [] : b.pre.split("."));
}

export const builtins: BuiltinDef[] = [
  def("semver.is_valid", 1, ([v]: Value[]) => typeof v === "string" && parseSemVer(v) !== undefined),
  def("semver.compare", 2, (args) => {
    const a = argString(args, 0);
    const b = argString(args, 1);
    const va = parseSemVer(a);
    if (!va) throw new BuiltinError(`operand 1: string ${JSON.stringify(a)} is not a valid SemVer`);
    const vb = parseSemVer(b);
    if (!vb) throw new BuiltinError(`operand 2: string ${JSON.stringify(b)} is not a valid SemVer`);
    return compareSemVer(va, vb);
  }),
];
