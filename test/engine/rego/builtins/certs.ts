/**
 * Test helper: build real X.509 certificates with node:crypto keys (DER encoded by hand, signed
 * with crypto.sign) so chain verification and parsing run on fresh material every time.
 */
import crypto, { type KeyObject } from "node:crypto";

const len = (n: number): Buffer => (n < 128 ? Buffer.from([n]) : n < 256 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 255]));
const tlv = (tag: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), len(body.length), body]);
const seq = (...xs: Buffer[]) => tlv(0x30, Buffer.concat(xs));
const set = (...xs: Buffer[]) => tlv(0x31, Buffer.concat(xs));
const int = (n: number | bigint) => {
  let h = BigInt(n).toString(16);
  if (h.length % 2) h = `0${h}`;
  let b = Buffer.from(h, "hex");
  if ((b[0] as number) & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
};
const oid = (s: string) => {
  const p = s.split(".").map(Number);
  const out = [40 * (p[0] as number) + (p[1] as number)];
  for (const v of p.slice(2)) {
    const bytes = [v & 0x7f];
    let x = v >> 7;
    while (x > 0) {
      bytes.unshift((x & 0x7f) | 0x80);
      x >>= 7;
    }
    out.push(...bytes);
  }
  return tlv(0x06, Buffer.from(out));
};
const utf8s = (s: string) => tlv(0x0c, Buffer.from(s));
const ia5 = (s: string) => Buffer.from(s);
const utc = (d: Date) => tlv(0x17, Buffer.from(`${d.toISOString().slice(2, 19).replace(/[-:T]/g, "")}Z`));
const name = (cn: string, org?: string) =>
  seq(...(org ? [set(seq(oid("2.5.4.10"), utf8s(org)))] : []), set(seq(oid("2.5.4.3"), utf8s(cn))));
const ext = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));

export interface Issued {
  der: Buffer;
  pem: string;
  key: KeyObject;
}

export function makeCert(opts: {
  cn: string;
  org?: string;
  issuer?: Issued & { cn: string; org?: string };
  ca?: boolean;
  dns?: string[];
  uris?: string[];
  serial?: number;
  notBefore?: Date;
  notAfter?: Date;
  key?: { privateKey: KeyObject; publicKey: KeyObject };
}): Issued & { cn: string; org?: string } {
  const kp = opts.key ?? crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
  const signer = opts.issuer ? opts.issuer.key : kp.privateKey;
  const sigAlg = signer.asymmetricKeyType === "rsa" ? seq(oid("1.2.840.113549.1.1.11"), tlv(0x05, Buffer.alloc(0))) : seq(oid("1.2.840.10045.4.3.2"));
  const spki = kp.publicKey.export({ format: "der", type: "spki" });
  const exts: Buffer[] = [ext("2.5.29.19", true, seq(...(opts.ca ? [tlv(0x01, Buffer.from([0xff]))] : [])))];
  exts.push(ext("2.5.29.15", true, tlv(0x03, Buffer.from(opts.ca ? [0x01, 0x06] : [0x05, 0xa0]))));
  if (!opts.ca) exts.push(ext("2.5.29.37", false, seq(oid("1.3.6.1.5.5.7.3.1"))));
  const sans = [...(opts.dns ?? []).map((d) => tlv(0x82, ia5(d))), ...(opts.uris ?? []).map((u) => tlv(0x86, ia5(u)))];
  if (sans.length) exts.push(ext("2.5.29.17", false, seq(...sans)));
  const tbs = seq(
    tlv(0xa0, int(2)),
    int(opts.serial ?? 1),
    sigAlg,
    opts.issuer ? name(opts.issuer.cn, opts.issuer.org) : name(opts.cn, opts.org),
    seq(utc(opts.notBefore ?? new Date(Date.now() - 3600e3)), utc(opts.notAfter ?? new Date(Date.now() + 86400e3 * 365))),
    name(opts.cn, opts.org),
    spki,
    tlv(0xa3, seq(...exts)),
  );
  const sig = crypto.sign("sha256", tbs, signer);
  const der = seq(tbs, sigAlg, tlv(0x03, Buffer.concat([Buffer.from([0]), sig])));
  const pem = `-----BEGIN CERTIFICATE-----\n${der.toString("base64").replace(/(.{64})/g, "$1\n")}\n-----END CERTIFICATE-----\n`.replace("\n\n", "\n");
  return { der, pem, key: kp.privateKey, cn: opts.cn, org: opts.org };
}

export function makeCSR(cn: string, key: { privateKey: KeyObject; publicKey: KeyObject }): Buffer {
  const info = seq(int(0), name(cn), key.publicKey.export({ format: "der", type: "spki" }), tlv(0xa0, Buffer.alloc(0)));
  const sigAlg = seq(oid("1.2.840.10045.4.3.2"));
  const sig = crypto.sign("sha256", info, key.privateKey);
  return seq(info, sigAlg, tlv(0x03, Buffer.concat([Buffer.from([0]), sig])));
}
