/** uuid.rfc4122 (random v4, stable per key within one evaluation) and uuid.parse. */
import { randomBytes } from "node:crypto";
import { canon, numFromBigInt, RObject, type Value } from "../value.ts";
import { argString, type BuiltinDef, def } from "./registry.ts";

export function newUUIDv4(): string {
  const b = randomBytes(16);
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** google/uuid.Parse: the 16 bytes, or undefined. */
export function parseUUIDBytes(s: string): Uint8Array | undefined {
  let hex: string;
  if (s.length === 36 + 9) {
    if (s.slice(0, 9).toLowerCase() !== "urn:uuid:") return undefined;
    s = s.slice(9);
  } else if (s.length === 36 + 2) {
    if (s[0] !== "{" || s[37] !== "}") return undefined;
    s = s.slice(1, 37);
  }
  if (s.length === 36) {
    if (s[8] !== "-" || s[13] !== "-" || s[18] !== "-" || s[23] !== "-") return undefined;
    hex = s.slice(0, 8) + s.slice(9, 13) + s.slice(14, 18) + s.slice(19, 23) + s.slice(24);
  } else if (s.length === 32) hex = s;
  else return undefined;
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return undefined;
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

const G1582NS100 = 122192928000000000n;

function variantName(b8: number): string {
  if ((b8 & 0xc0) === 0x80) return "RFC4122";
  if ((b8 & 0xe0) === 0xc0) return "Microsoft";
  if ((b8 & 0xe0) === 0xe0) return "Future";
  return "Reserved";
}

function macVars(b: number): string {
  if ((b & 3) === 3) return "local:multicast";
  if ((b & 1) === 1) return "global:multicast";
  if ((b & 2) === 2) return "local:unicast";
  return "global:unicast";
}

export function parseUUID(s: string): RObject | undefined {
  const u = parseUUIDBytes(s);
  if (!u) return undefined;
  const o = new RObject();
  const version = (u[6] as number) >> 4;
  o.set("version", version);
  o.set("variant", variantName(u[8] as number));
  if (version === 1 || version === 2) {
    const dv = new DataView(u.buffer, u.byteOffset, 16);
    let t = BigInt(dv.getUint32(0));
    t |= BigInt(dv.getUint16(4)) << 32n;
    t |= BigInt(dv.getUint16(6) & 0xfff) << 48n;
    const since = t - G1582NS100;
    const sec = since / 10000000n;
    const nsec = (since % 10000000n) * 100n;
    o.set("time", numFromBigInt(sec * 1000000000n + nsec));
    const node = u.slice(10, 16);
    o.set("nodeid", Array.from(node, (b) => b.toString(16).padStart(2, "0")).join("-"));
    o.set("macvariables", macVars(node[0] as number));
    o.set("clocksequence", dv.getUint16(8) & 0x3fff);
    if (version === 2) {
      o.set("id", dv.getUint32(0));
      const d = u[9] as number;
      o.set("domain", d === 0 ? "Person" : d === 1 ? "Group" : d === 2 ? "Org" : `Domain${d}`);
    }
  }
  return o;
}

export const builtins: BuiltinDef[] = [
  def(
    "uuid.rfc4122",
    1,
    ([k], ctx) => {
      const key = `uuid.rfc4122:${canon(k as Value)}`;
      const hit = ctx.cache.get(key);
      if (typeof hit === "string") return hit;
      const u = newUUIDv4();
      ctx.cache.set(key, u);
      return u;
    },
    { nondeterministic: true },
  ),
  def("uuid.parse", 1, (args) => parseUUID(argString(args, 0))),
];
