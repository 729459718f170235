/**
 * net.cidr_* builtins with Go net.ParseIP / net.ParseCIDR semantics. Addresses are bigints
 * with a family width (32 or 128 bits). net.lookup_ip_addr is not provided (no network access
 * during evaluation).
 */
import { RObject, RSet, type Value } from "../value.ts";
import { argString, type BuiltinDef, BuiltinError, def, typeErr } from "./registry.ts";

export interface IP {
  bits: 32 | 128;
  v: bigint;
}
export interface IPNet {
  ip: IP; // network address (masked) for parsed CIDRs
  prefix: number;
  /** Textual form as Go's IPNet.String(). */
  str: string;
}

function parseIPv4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    if (p.length > 1 && p[0] === "0") return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseIPv6(s: string): bigint | undefined {
  if (s.includes("%")) return undefined;
  let head = s;
  let tail = "";
  const dbl = s.indexOf("::");
  if (dbl >= 0) {
    head = s.slice(0, dbl);
    tail = s.slice(dbl + 2);
    if (tail.includes("::")) return undefined;
  }
  const groups = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const items = part.split(":");
    for (let i = 0; i < items.length; i++) {
      const it = items[i] as string;
      if (i === items.length - 1 && it.includes(".")) {
        const v4 = parseIPv4(it);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return undefined;
      out.push(Number.parseInt(it, 16));
    }
    return out;
  };
  const h = groups(head);
  const t = groups(tail);
  if (!h || !t) return undefined;
  // an embedded IPv4 may only be at the very end
  if (dbl >= 0 && head.includes(".")) return undefined;
  let all: number[];
  if (dbl >= 0) {
    if (h.length + t.length > 7) return undefined;
    all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  } else {
    if (h.length !== 8) return undefined;
    all = h;
  }
  let v = 0n;
  for (const g of all) v = (v << 16n) | BigInt(g);
  return v;
}

/** Go net.ParseIP. IPv4 (and IPv4-mapped IPv6) come back as 32-bit. */
export function parseIP(s: string): IP | undefined {
  const v4 = parseIPv4(s);
  if (v4 !== undefined) return { bits: 32, v: v4 };
  if (!s.includes(":")) return undefined;
  const v6 = parseIPv6(s);
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === 0xffffn) return { bits: 32, v: v6 & 0xffffffffn, mapped: true } as IP;
  return { bits: 128, v: v6 };
}

const mask = (bits: number, prefix: number): bigint => ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n);

/** Go IP.String(). */
export function ipString(ip: IP): string {
  if (ip.bits === 32) {
    const v = ip.v;
    return [24n, 16n, 8n, 0n].map((sh) => String((v >> sh) & 0xffn)).join(".");
  }
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((ip.v >> BigInt(i * 16)) & 0xffffn));
  // longest run of zero groups (length >= 2), leftmost on ties
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(":");
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** Go net.ParseCIDR; returns the masked network. */
export function parseCIDR(s: string): IPNet {
  const slash = s.indexOf("/");
  const bad = () => new BuiltinError(`invalid CIDR address: ${s}`);
  if (slash < 0) throw bad();
  const addr = s.slice(0, slash);
  const ms = s.slice(slash + 1);
  let ip: IP | undefined;
  const v4 = parseIPv4(addr);
  if (v4 !== undefined) ip = { bits: 32, v: v4 };
  else if (addr.includes(":")) {
    const v6 = parseIPv6(addr);
    if (v6 !== undefined) ip = { bits: 128, v: v6 };
  }
  if (!ip || !/^\d+$/.test(ms) || ms.length > 3) throw bad();
  const prefix = Number(ms);
  if (prefix > ip.bits) throw bad();
  const net: IP = { bits: ip.bits, v: ip.v & mask(ip.bits, prefix) };
  return { ip: net, prefix, str: `${ipString(net)}/${prefix}` };
}

function lastIP(n: IPNet): bigint {
  return n.ip.v | ((1n << BigInt(n.ip.bits - n.prefix)) - 1n);
}

/** Go IPNet.Contains(ip). */
function netContains(n: IPNet, ip: IP): boolean {
  if (n.ip.bits !== ip.bits) {
    // a 128-bit network never contains an IPv4 (Go compares lengths after To4)
    return false;
  }
  const m = mask(n.ip.bits, n.prefix);
  return (ip.v & m) === n.ip.v;
}

function netArg(v: Value, pos: number): IPNet {
  if (typeof v !== "string") throw typeErr(pos, "string", v);
  return parseCIDR(v);
}

export function cidrContains(a: Value, b: Value): boolean {
  const na = netArg(a, 1);
  if (typeof b !== "string") throw typeErr(2, "string", b);
  const ip = parseIP(b);
  if (ip) return netContains(na, ip);
  let nb: IPNet;
  try {
    nb = parseCIDR(b);
  } catch {
    throw new BuiltinError(`not a valid textual representation of an IP address or CIDR: ${b}`);
  }
  if (!netContains(na, nb.ip)) return false;
  return netContains(na, { bits: nb.ip.bits, v: lastIP(nb) });
}

/** The minimal list of CIDR prefixes covering [first, last]. */
function rangeToCIDRs(first: bigint, last: bigint, bits: 32 | 128): string[] {
  const out: string[] = [];
  let cur = first;
  while (cur <= last) {
    let size = 0;
    while (size < bits) {
      const block = 1n << BigInt(size + 1);
      if (cur % block !== 0n || cur + block - 1n > last) break;
      size++;
    }
    out.push(`${ipString({ bits, v: cur })}/${bits - size}`);
    cur += 1n << BigInt(size);
  }
  return out;
}

function cidrMerge(items: Value[]): RSet {
  interface R {
    first: bigint;
    last: bigint;
    bits: 32 | 128;
    str: string;
    merged: boolean;
  }
  const ranges: R[] = [];
  for (const e of items) {
    if (typeof e !== "string") throw new BuiltinError("element must be string");
    const ip = parseIP(e);
    if (ip) {
      if (ip.bits === 128) throw new BuiltinError("IPv6 invalid: needs prefix length");
      const top = Number(ip.v >> 24n);
      const prefix = top < 0x80 ? 8 : top < 0xc0 ? 16 : 24;
      const first = ip.v & mask(32, prefix);
      ranges.push({ first, last: first | ((1n << BigInt(32 - prefix)) - 1n), bits: 32, str: `${ipString(ip)}/${prefix}`, merged: false });
    } else {
      const n = parseCIDR(e);
      ranges.push({ first: n.ip.v, last: lastIP(n), bits: n.ip.bits, str: n.str, merged: false });
    }
  }
  const out = new RSet();
  for (const bits of [32, 128] as const) {
    const rs = ranges.filter((r) => r.bits === bits).sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : a.last < b.last ? -1 : a.last > b.last ? 1 : 0));
    const merged: R[] = [];
    for (const r of rs) {
      const prev = merged[merged.length - 1];
      if (prev && r.first <= prev.last + 1n) {
        if (r.last > prev.last) prev.last = r.last;
        prev.merged = true;
      } else merged.push({ ...r });
    }
    for (const r of merged) {
      if (!r.merged) out.add(r.str);
      else for (const c of rangeToCIDRs(r.first, r.last, bits)) out.add(c);
    }
  }
  return out;
}

function matchTerm(v: Value, operand: number): Value {
  if (typeof v === "string") return v;
  if (Array.isArray(v) && v.length > 0) return v[0] as Value;
  throw new BuiltinError(`operand ${operand}: element must be string or non-empty array`);
}

function eachMatchOperand(operand: number, a: Value, f: (cidr: Value, index: Value) => void): void {
  if (typeof a === "string") f(a, a);
  else if (Array.isArray(a)) a.forEach((x, i) => {
    f(matchTerm(x, operand), i);
  });
  else if (a instanceof RSet) for (const x of a.values()) f(matchTerm(x, operand), x);
  else if (a instanceof RObject) for (const [k, x] of a.entries()) f(matchTerm(x, operand), k);
  else throw typeErr(operand, "one of {string, array, set, object}", a);
}

const MAX_EXPAND = 1 << 24;

export const builtins: BuiltinDef[] = [
  def("net.cidr_contains", 2, ([a, b]) => cidrContains(a as Value, b as Value)),
  def("net.cidr_overlap", 2, ([a, b]) => cidrContains(a as Value, b as Value)),
  def("net.cidr_intersects", 2, ([a, b]) => {
    const na = netArg(a as Value, 1);
    const nb = netArg(b as Value, 2);
    return netContains(na, nb.ip) || netContains(nb, na.ip);
  }),
  def("net.cidr_is_valid", 1, ([a]) => {
    if (typeof a !== "string") return false;
    try {
      parseCIDR(a);
      return true;
    } catch {
      return false;
    }
  }),
  def("net.cidr_expand", 1, (args) => {
    const n = parseCIDR(argString(args, 0));
    const count = 1n << BigInt(n.ip.bits - n.prefix);
    if (count > BigInt(MAX_EXPAND)) throw new BuiltinError(`CIDR ${n.str} is too large to expand`);
    const out = new RSet();
    for (let v = n.ip.v, i = 0n; i < count; i++, v++) out.add(ipString({ bits: n.ip.bits, v }));
    return out;
  }),
  def("net.cidr_merge", 1, ([a]) => {
    if (Array.isArray(a)) return cidrMerge(a);
    if (a instanceof RSet) return cidrMerge(a.values());
    throw typeErr(1, "one of {array, set}", a as Value);
  }),
  def("net.cidr_contains_matches", 2, ([a, b]) => {
    const out = new RSet();
    eachMatchOperand(1, a as Value, (c1, i1) => {
      eachMatchOperand(2, b as Value, (c2, i2) => {
        if (cidrContains(c1, c2)) out.add([i1, i2]);
      });
    });
    return out;
  }),
];
