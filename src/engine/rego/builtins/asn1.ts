/**
 * A small DER reader and an X.509 certificate / CSR decoder that renders the JSON shape of Go's
 * x509.Certificate / x509.CertificateRequest (what OPA's crypto.x509.* builtins return).
 */

export interface TLV {
  cls: number; // 0 universal, 1 application, 2 context, 3 private
  constructed: boolean;
  tag: number;
  start: number; // offset of the identifier byte
  hdr: number; // header length
  len: number;
  bytes: Uint8Array; // the whole encoding
  body: Uint8Array; // the contents
}

export class ASN1Error extends Error {}

export function readTLV(buf: Uint8Array, off: number): TLV {
  if (off >= buf.length) throw new ASN1Error("asn1: syntax error: sequence truncated");
  const id = buf[off] as number;
  let p = off + 1;
  let tag = id & 0x1f;
  if (tag === 0x1f) {
    tag = 0;
    for (;;) {
      if (p >= buf.length) throw new ASN1Error("asn1: syntax error: truncated tag or length");
      const b = buf[p++] as number;
      tag = tag * 128 + (b & 0x7f);
      if (!(b & 0x80)) break;
    }
  }
  if (p >= buf.length) throw new ASN1Error("asn1: syntax error: truncated tag or length");
  let len = buf[p++] as number;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new ASN1Error("asn1: structure error: length too large");
    len = 0;
    for (let i = 0; i < n; i++) {
      if (p >= buf.length) throw new ASN1Error("asn1: syntax error: truncated tag or length");
      len = len * 256 + (buf[p++] as number);
    }
  }
  const end = p + len;
  if (end > buf.length) throw new ASN1Error("asn1: syntax error: data truncated");
  return {
    cls: id >> 6,
    constructed: (id & 0x20) !== 0,
    tag,
    start: off,
    hdr: p - off,
    len,
    bytes: buf.subarray(off, end),
    body: buf.subarray(p, end),
  };
}

export function children(t: TLV): TLV[] {
  const out: TLV[] = [];
  let off = 0;
  while (off < t.body.length) {
    const c = readTLV(t.body, off);
    out.push(c);
    off += c.hdr + c.len;
  }
  return out;
}

export function parseTop(der: Uint8Array): TLV {
  const t = readTLV(der, 0);
  if (t.cls !== 0 || t.tag !== 16) throw new ASN1Error("asn1: structure error: tags don't match");
  return t;
}

export function oidOf(t: TLV): number[] {
  const b = t.body;
  const out: number[] = [];
  let v = 0;
  for (let i = 0; i < b.length; i++) {
    v = v * 128 + ((b[i] as number) & 0x7f);
    if (!((b[i] as number) & 0x80)) {
      if (out.length === 0) {
        const first = v < 80 ? Math.floor(v / 40) : 2;
        out.push(first, v - first * 40);
      } else out.push(v);
      v = 0;
    }
  }
  return out;
}

export const oidStr = (o: number[]) => o.join(".");

export function bigOf(t: TLV): bigint {
  const b = t.body;
  if (b.length === 0) return 0n;
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  if ((b[0] as number) & 0x80) v -= 1n << BigInt(b.length * 8);
  return v;
}

export function stringOf(t: TLV): string {
  switch (t.tag) {
    case 30: {
      // BMPString (UTF-16BE)
      let s = "";
      for (let i = 0; i + 1 < t.body.length; i += 2) s += String.fromCharCode(((t.body[i] as number) << 8) | (t.body[i + 1] as number));
      return s;
    }
    case 28: {
      let s = "";
      const dv = new DataView(t.body.buffer, t.body.byteOffset, t.body.byteLength);
      for (let i = 0; i + 3 < t.body.length; i += 4) s += String.fromCodePoint(dv.getUint32(i));
      return s;
    }
    case 20: // T61 → latin1
      return Buffer.from(t.body).toString("latin1");
    default:
      return Buffer.from(t.body).toString("utf8");
  }
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

/** Go's time.Time JSON of an ASN.1 UTCTime / GeneralizedTime. */
function timeOf(t: TLV): string {
  const s = Buffer.from(t.body).toString("latin1");
  let m: RegExpExecArray | null;
  let y: number;
  let rest: string;
  if (t.tag === 23) {
    m = /^(\d\d)(\d{10})Z$/.exec(s);
    if (!m) throw new ASN1Error("asn1: time did not serialize back to the original value and may be invalid");
    y = Number(m[1]);
    y += y >= 50 ? 1900 : 2000;
    rest = m[2] as string;
  } else {
    m = /^(\d{4})(\d{10})(?:\.(\d+))?Z$/.exec(s);
    if (!m) throw new ASN1Error("asn1: time did not serialize back to the original value and may be invalid");
    y = Number(m[1]);
    rest = m[2] as string;
  }
  const frac = t.tag === 24 && m[3] ? `.${m[3].replace(/0+$/, "")}` : "";
  return `${String(y).padStart(4, "0")}-${rest.slice(0, 2)}-${rest.slice(2, 4)}T${rest.slice(4, 6)}:${rest.slice(6, 8)}:${rest.slice(8, 10)}${frac === "." ? "" : frac}Z`;
}

// ---- names -------------------------------------------------------------------------------------

const NAME_FIELDS: Record<string, string> = {
  "2.5.4.6": "Country",
  "2.5.4.10": "Organization",
  "2.5.4.11": "OrganizationalUnit",
  "2.5.4.7": "Locality",
  "2.5.4.8": "Province",
  "2.5.4.9": "StreetAddress",
  "2.5.4.17": "PostalCode",
};

function nameOf(t: TLV): Record<string, unknown> {
  const out: Record<string, unknown> = {
    Country: null,
    Organization: null,
    OrganizationalUnit: null,
    Locality: null,
    Province: null,
    StreetAddress: null,
    PostalCode: null,
    SerialNumber: "",
    CommonName: "",
    Names: [] as unknown[],
    ExtraNames: null,
  };
  const names: unknown[] = [];
  for (const rdn of children(t)) {
    for (const atv of children(rdn)) {
      const [oidT, valT] = children(atv);
      if (!oidT || !valT) continue;
      const oid = oidOf(oidT);
      const value = stringOf(valT);
      names.push({ Type: oid, Value: value });
      const k = oidStr(oid);
      const f = NAME_FIELDS[k];
      if (f) {
        if (out[f] === null) out[f] = [];
        (out[f] as string[]).push(value);
      }
      else if (k === "2.5.4.3") out.CommonName = value;
      else if (k === "2.5.4.5") out.SerialNumber = value;
    }
  }
  out.Names = names.length ? names : null;
  return out;
}

// ---- algorithms -------------------------------------------------------------------------------

const SIG_ALGS: Record<string, number> = {
  "1.2.840.113549.1.1.2": 1,
  "1.2.840.113549.1.1.4": 2,
  "1.2.840.113549.1.1.5": 3,
  "1.2.840.113549.1.1.11": 4,
  "1.2.840.113549.1.1.12": 5,
  "1.2.840.113549.1.1.13": 6,
  "1.2.840.10040.4.3": 7,
  "2.16.840.1.101.3.4.3.2": 8,
  "1.2.840.10045.4.1": 9,
  "1.2.840.10045.4.3.2": 10,
  "1.2.840.10045.4.3.3": 11,
  "1.2.840.10045.4.3.4": 12,
  "1.3.101.112": 16,
};
const PSS_HASH: Record<string, number> = { "2.16.840.1.101.3.4.2.1": 13, "2.16.840.1.101.3.4.2.2": 14, "2.16.840.1.101.3.4.2.3": 15 };

function sigAlgOf(t: TLV): number {
  const [o, params] = children(t);
  if (!o) return 0;
  const k = oidStr(oidOf(o));
  if (k === "1.2.840.113549.1.1.10") {
    // RSASSA-PSS: hash from params [0]
    try {
      const p = params ? children(params) : [];
      const h = p.find((x) => x.cls === 2 && x.tag === 0);
      if (!h) return 0;
      const hashAlg = children(children(h)[0] as TLV)[0] as TLV;
      return PSS_HASH[oidStr(oidOf(hashAlg))] ?? 0;
    } catch {
      return 0;
    }
  }
  return SIG_ALGS[k] ?? 0;
}

function publicKeyOf(spki: TLV): [number, unknown] {
  const [alg, bits] = children(spki);
  if (!alg || !bits) return [0, null];
  const [o, params] = children(alg);
  const k = o ? oidStr(oidOf(o)) : "";
  const keyBytes = bits.body.subarray(1);
  if (k === "1.2.840.113549.1.1.1") {
    const seq = readTLV(keyBytes, 0);
    const [n, e] = children(seq);
    return [1, { N: n ? bigOf(n) : 0n, E: e ? Number(bigOf(e)) : 0 }];
  }
  if (k === "1.2.840.10045.2.1") {
    const size = keyBytes.length > 1 ? (keyBytes.length - 1) / 2 : 0;
    const x = keyBytes.subarray(1, 1 + size);
    const y = keyBytes.subarray(1 + size);
    const toBig = (b: Uint8Array) => (b.length ? BigInt(`0x${Buffer.from(b).toString("hex")}`) : 0n);
    void params;
    return [3, { Curve: {}, X: toBig(x), Y: toBig(y) }];
  }
  if (k === "1.3.101.112") return [4, b64(keyBytes)];
  if (k === "1.2.840.10040.4.1") return [2, {}];
  return [0, null];
}

// ---- extensions --------------------------------------------------------------------------------

const EKU: Record<string, number> = {
  "2.5.29.37.0": 0,
  "1.3.6.1.5.5.7.3.1": 1,
  "1.3.6.1.5.5.7.3.2": 2,
  "1.3.6.1.5.5.7.3.3": 3,
  "1.3.6.1.5.5.7.3.4": 4,
  "1.3.6.1.5.5.7.3.5": 5,
  "1.3.6.1.5.5.7.3.6": 6,
  "1.3.6.1.5.5.7.3.7": 7,
  "1.3.6.1.5.5.7.3.8": 8,
  "1.3.6.1.5.5.7.3.9": 9,
  "1.3.6.1.4.1.311.10.3.3": 10,
  "2.16.840.1.113730.4.1": 11,
  "1.3.6.1.4.1.311.2.1.22": 12,
  "1.3.6.1.4.1.311.61.1.1": 13,
};

function ipText(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join(".");
  const g: string[] = [];
  for (let i = 0; i + 1 < b.length; i += 2) g.push((((b[i] as number) << 8) | (b[i + 1] as number)).toString(16));
  return g.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}

/** Go url.URL JSON for a parsed URI SAN. */
function urlJSON(s: string): Record<string, unknown> {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):(\/\/([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))?$/.exec(s);
  const u = { Scheme: "", Opaque: "", User: null, Host: "", Path: "", RawPath: "", OmitHost: false, ForceQuery: false, RawQuery: "", Fragment: "", RawFragment: "" };
  if (!m) return { ...u, Path: s };
  u.Scheme = (m[1] as string).toLowerCase();
  if (m[2] === undefined) u.Opaque = m[4] ?? "";
  else {
    u.Host = m[3] ?? "";
    u.Path = m[4] ?? "";
  }
  u.RawQuery = m[6] ?? "";
  u.Fragment = m[8] ?? "";
  return u;
}

function applyExtensions(out: Record<string, unknown>, exts: TLV[]): void {
  const list: unknown[] = [];
  for (const ext of exts) {
    const parts = children(ext);
    const oid = oidOf(parts[0] as TLV);
    let critical = false;
    let valT = parts[1] as TLV;
    if (valT.tag === 1) {
      critical = valT.body[0] !== 0;
      valT = parts[2] as TLV;
    }
    const value = valT.body;
    list.push({ Id: oid, Critical: critical, Value: b64(value) });
    const k = oidStr(oid);
    try {
      const inner = value.length ? readTLV(value, 0) : undefined;
      if (!inner) continue;
      if (k === "2.5.29.15") {
        // key usage BIT STRING
        const b = inner.body;
        let usage = 0;
        for (let i = 0; i < (b.length - 1) * 8; i++) {
          if (((b[1 + (i >> 3)] as number) >> (7 - (i & 7))) & 1) usage |= 1 << i;
        }
        out.KeyUsage = usage;
      } else if (k === "2.5.29.19") {
        const c = children(inner);
        let isCA = false;
        let maxPath = -1;
        for (const x of c) {
          if (x.tag === 1) isCA = x.body[0] !== 0;
          else if (x.tag === 2) maxPath = Number(bigOf(x));
        }
        out.BasicConstraintsValid = true;
        out.IsCA = isCA;
        out.MaxPathLen = maxPath;
        out.MaxPathLenZero = maxPath === 0;
      } else if (k === "2.5.29.17") {
        const dns: string[] = [];
        const emails: string[] = [];
        const ips: string[] = [];
        const uris: Record<string, unknown>[] = [];
        const uriStrings: string[] = [];
        for (const gn of children(inner)) {
          const s = Buffer.from(gn.body).toString("latin1");
          if (gn.tag === 2) dns.push(s);
          else if (gn.tag === 1) emails.push(s);
          else if (gn.tag === 7) ips.push(ipText(gn.body));
          else if (gn.tag === 6) {
            uris.push(urlJSON(s));
            uriStrings.push(s);
          }
        }
        out.DNSNames = dns.length ? dns : null;
        out.EmailAddresses = emails.length ? emails : null;
        out.IPAddresses = ips.length ? ips : null;
        out.URIs = uris.length ? uris : null;
        out.URIStrings = uriStrings.length ? uriStrings : null;
      } else if (k === "2.5.29.37") {
        const eku: number[] = [];
        const unknown: number[][] = [];
        for (const o of children(inner)) {
          const id = oidOf(o);
          const n = EKU[oidStr(id)];
          if (n === undefined) unknown.push(id);
          else eku.push(n);
        }
        out.ExtKeyUsage = eku.length ? eku : null;
        out.UnknownExtKeyUsage = unknown.length ? unknown : null;
      } else if (k === "2.5.29.14") {
        out.SubjectKeyId = b64(inner.body);
      } else if (k === "2.5.29.35") {
        const id = children(inner).find((x) => x.cls === 2 && x.tag === 0);
        if (id) out.AuthorityKeyId = b64(id.body);
      } else if (k === "1.3.6.1.5.5.7.1.1") {
        const ocsp: string[] = [];
        const issuers: string[] = [];
        for (const ad of children(inner)) {
          const [m, loc] = children(ad);
          if (!m || !loc || loc.tag !== 6) continue;
          const s = Buffer.from(loc.body).toString("latin1");
          const mo = oidStr(oidOf(m));
          if (mo === "1.3.6.1.5.5.7.48.1") ocsp.push(s);
          else if (mo === "1.3.6.1.5.5.7.48.2") issuers.push(s);
        }
        out.OCSPServer = ocsp.length ? ocsp : null;
        out.IssuingCertificateURL = issuers.length ? issuers : null;
      } else if (k === "2.5.29.31") {
        const urls: string[] = [];
        for (const dp of children(inner)) {
          for (const f of children(dp)) {
            if (f.cls !== 2 || f.tag !== 0) continue;
            for (const n of children(f)) {
              if (n.cls !== 2 || n.tag !== 0) continue;
              for (const gn of children(n)) if (gn.tag === 6) urls.push(Buffer.from(gn.body).toString("latin1"));
            }
          }
        }
        out.CRLDistributionPoints = urls.length ? urls : null;
      } else if (k === "2.5.29.32") {
        const ids: number[][] = [];
        for (const pi of children(inner)) {
          const o = children(pi)[0];
          if (o) ids.push(oidOf(o));
        }
        out.PolicyIdentifiers = ids.length ? ids : null;
      }
    } catch {
      // malformed extension body: keep the raw extension only
    }
  }
  out.Extensions = list.length ? list : null;
}

/** Go x509.ParseCertificate → JSON-shaped object (plus OPA's URIStrings). */
export function certificateJSON(der: Uint8Array): Record<string, unknown> {
  let top: TLV;
  try {
    top = parseTop(der);
    if (top.bytes.length !== der.length) throw new ASN1Error("trailing data");
  } catch {
    throw new ASN1Error("x509: malformed certificate");
  }
  try {
    const [tbs, sigAlg, sig] = children(top);
    if (!tbs || !sigAlg || !sig) throw new ASN1Error("x509: malformed certificate");
    const f = children(tbs);
    let i = 0;
    let version = 1;
    if (f[0] && f[0].cls === 2 && f[0].tag === 0) {
      version = Number(bigOf(children(f[0])[0] as TLV)) + 1;
      i++;
    }
    const serial = f[i++] as TLV;
    i++; // inner signature algorithm
    const issuer = f[i++] as TLV;
    const validity = f[i++] as TLV;
    const subject = f[i++] as TLV;
    const spki = f[i++] as TLV;
    const [notBefore, notAfter] = children(validity);
    const [pkAlg, pk] = publicKeyOf(spki);
    const out: Record<string, unknown> = {
      Raw: b64(top.bytes),
      RawTBSCertificate: b64(tbs.bytes),
      RawSubjectPublicKeyInfo: b64(spki.bytes),
      RawSubject: b64(subject.bytes),
      RawIssuer: b64(issuer.bytes),
      Signature: b64(sig.body.subarray(1)),
      SignatureAlgorithm: sigAlgOf(sigAlg),
      PublicKeyAlgorithm: pkAlg,
      PublicKey: pk,
      Version: version,
      SerialNumber: bigOf(serial),
      Issuer: nameOf(issuer),
      Subject: nameOf(subject),
      NotBefore: timeOf(notBefore as TLV),
      NotAfter: timeOf(notAfter as TLV),
      KeyUsage: 0,
      Extensions: null,
      ExtraExtensions: null,
      UnhandledCriticalExtensions: null,
      ExtKeyUsage: null,
      UnknownExtKeyUsage: null,
      BasicConstraintsValid: false,
      IsCA: false,
      MaxPathLen: 0,
      MaxPathLenZero: false,
      SubjectKeyId: null,
      AuthorityKeyId: null,
      OCSPServer: null,
      IssuingCertificateURL: null,
      DNSNames: null,
      EmailAddresses: null,
      IPAddresses: null,
      URIs: null,
      PermittedDNSDomainsCritical: false,
      PermittedDNSDomains: null,
      ExcludedDNSDomains: null,
      PermittedIPRanges: null,
      ExcludedIPRanges: null,
      PermittedEmailAddresses: null,
      ExcludedEmailAddresses: null,
      PermittedURIDomains: null,
      ExcludedURIDomains: null,
      CRLDistributionPoints: null,
      PolicyIdentifiers: null,
      Policies: null,
      URIStrings: null,
    };
    for (; i < f.length; i++) {
      const x = f[i] as TLV;
      if (x.cls === 2 && x.tag === 3) applyExtensions(out, children(children(x)[0] as TLV));
    }
    return out;
  } catch (e) {
    if (e instanceof ASN1Error && e.message.startsWith("x509")) throw e;
    throw new ASN1Error("x509: malformed certificate");
  }
}

/** Go x509.ParseCertificates: a concatenation of DER certificates. */
export function certificatesJSON(der: Uint8Array): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let off = 0;
  while (off < der.length) {
    let t: TLV;
    try {
      t = readTLV(der, off);
    } catch {
      throw new ASN1Error("x509: malformed certificate");
    }
    out.push(certificateJSON(t.bytes));
    off += t.hdr + t.len;
  }
  return out;
}

/** Go x509.ParseCertificateRequest → JSON-shaped object. */
export function csrJSON(der: Uint8Array): Record<string, unknown> {
  let top: TLV;
  try {
    top = parseTop(der);
  } catch (e) {
    throw new ASN1Error(`asn1: structure error: ${(e as Error).message.replace(/^asn1: (structure|syntax) error: /, "")}`);
  }
  const [info, sigAlg, sig] = children(top);
  if (!info || !sigAlg || !sig) throw new ASN1Error("asn1: structure error: too few elements");
  const [ver, subject, spki, attrs] = children(info);
  if (!ver || !subject || !spki) throw new ASN1Error("asn1: structure error: too few elements");
  const [pkAlg, pk] = publicKeyOf(spki);
  const out: Record<string, unknown> = {
    Raw: b64(top.bytes),
    RawTBSCertificateRequest: b64(info.bytes),
    RawSubjectPublicKeyInfo: b64(spki.bytes),
    RawSubject: b64(subject.bytes),
    Version: Number(bigOf(ver)),
    Signature: b64(sig.body.subarray(1)),
    SignatureAlgorithm: sigAlgOf(sigAlg),
    PublicKeyAlgorithm: pkAlg,
    PublicKey: pk,
    Subject: nameOf(subject),
    Attributes: null,
    Extensions: null,
    ExtraExtensions: null,
    DNSNames: null,
    EmailAddresses: null,
    IPAddresses: null,
    URIs: null,
  };
  if (attrs && attrs.cls === 2 && attrs.tag === 0) {
    for (const a of children(attrs)) {
      const [o, set] = children(a);
      if (!o || !set) continue;
      if (oidStr(oidOf(o)) === "1.2.840.113549.1.9.14") {
        const exts = children(set)[0];
        if (exts) {
          const tmp: Record<string, unknown> = {};
          applyExtensions(tmp, children(exts));
          for (const k of ["Extensions", "DNSNames", "EmailAddresses", "IPAddresses", "URIs"]) if (k in tmp) out[k] = tmp[k];
        }
      }
    }
  }
  return out;
}
