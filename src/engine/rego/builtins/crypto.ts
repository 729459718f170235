/**
 * crypto.* builtins: digests, HMACs, X.509 certificate / CSR / key parsing and chain
 * verification (node:crypto, synchronous), rendered in the JSON shapes OPA returns.
 */
import crypto, { type KeyObject } from "node:crypto";
import { isNumber, RObject, toBigInt, type Value } from "../value.ts";
import { argString, type BuiltinDef, BuiltinError, def, typeErr } from "./registry.ts";
import { ASN1Error, certificatesJSON, csrJSON } from "./asn1.ts";
import { b64decode, fromPlain, pemDecode, utf8 } from "./ext_util.ts";

const digest = (alg: string) => (args: Value[]) => crypto.createHash(alg).update(utf8.encode(argString(args, 0))).digest("hex");
const hmac = (alg: string) => (args: Value[]) =>
  crypto.createHmac(alg, utf8.encode(argString(args, 1))).update(utf8.encode(argString(args, 0))).digest("hex");

function wrap<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof BuiltinError) throw e;
    throw new BuiltinError((e as Error).message);
  }
}

const BEGIN = "-----BEGIN";

/** All PEM blocks of a type-agnostic input. */
function pemBlocks(s: string): { type: string; bytes: Uint8Array }[] {
  const out: { type: string; bytes: Uint8Array }[] = [];
  let rest = s;
  for (;;) {
    const r = pemDecode(rest);
    if (!r) break;
    out.push({ type: r.block.type, bytes: r.block.bytes });
    rest = r.rest;
  }
  return out;
}

function bytesText(b: Uint8Array): string {
  return Buffer.from(b).toString("latin1");
}

/** OPA's getX509CertsFromString: PEM, base64(PEM) or base64(DER). */
function certsFromString(s: string): Uint8Array[] {
  const fromPem = (text: string) => {
    const blocks = pemBlocks(text).filter((b) => b.type === "CERTIFICATE");
    if (blocks.length === 0) throw new BuiltinError("x509: malformed certificate");
    return blocks.map((b) => b.bytes);
  };
  if (s.startsWith(BEGIN)) return fromPem(s);
  const raw = b64decode(s, "std");
  if (bytesText(raw.subarray(0, BEGIN.length)) === BEGIN) return fromPem(bytesText(raw));
  return [raw];
}

function parseCerts(s: string): Record<string, unknown>[] {
  const ders = certsFromString(s);
  const out: Record<string, unknown>[] = [];
  for (const d of ders) {
    try {
      out.push(...certificatesJSON(d));
    } catch (e) {
      throw new BuiltinError(e instanceof ASN1Error ? e.message : "x509: malformed certificate");
    }
  }
  return out;
}

// ---- chain verification ------------------------------------------------------------------------

const KEY_USAGES: Record<string, string | null> = {
  KeyUsageAny: null,
  KeyUsageServerAuth: "1.3.6.1.5.5.7.3.1",
  KeyUsageClientAuth: "1.3.6.1.5.5.7.3.2",
  KeyUsageCodeSigning: "1.3.6.1.5.5.7.3.3",
  KeyUsageEmailProtection: "1.3.6.1.5.5.7.3.4",
  KeyUsageIPSECEndSystem: "1.3.6.1.5.5.7.3.5",
  KeyUsageIPSECTunnel: "1.3.6.1.5.5.7.3.6",
  KeyUsageIPSECUser: "1.3.6.1.5.5.7.3.7",
  KeyUsageTimeStamping: "1.3.6.1.5.5.7.3.8",
  KeyUsageOCSPSigning: "1.3.6.1.5.5.7.3.9",
  KeyUsageMicrosoftServerGatedCrypto: "1.3.6.1.4.1.311.10.3.3",
  KeyUsageNetscapeServerGatedCrypto: "2.16.840.1.113730.4.1",
  KeyUsageMicrosoftCommercialCodeSigning: "1.3.6.1.4.1.311.2.1.22",
  KeyUsageMicrosoftKernelCodeSigning: "1.3.6.1.4.1.311.61.1.1",
};

interface VerifyOpts {
  dnsName?: string;
  timeMs?: number;
  keyUsages?: (string | null)[];
}

/** Verify certs (first = root, middle = intermediates, last = leaf); returns the chain leaf→root. */
function verifyChain(ders: Uint8Array[], opts: VerifyOpts): number[] {
  if (ders.length < 2) throw new BuiltinError("operand 1 must supply at least two certificates to be able to verify");
  const certs = ders.map((d) => new crypto.X509Certificate(Buffer.from(d)));
  const now = opts.timeMs ?? Date.now();
  const valid = (c: crypto.X509Certificate) => Date.parse(c.validFrom) <= now && now <= Date.parse(c.validTo);
  const leafIdx = certs.length - 1;
  const leaf = certs[leafIdx] as crypto.X509Certificate;
  if (!valid(leaf)) throw new Error("x509: certificate has expired or is not yet valid");
  if (opts.dnsName !== undefined && opts.dnsName !== "" && !leaf.checkHost(opts.dnsName, { subject: "never" }))
    throw new Error(`x509: certificate is not valid for ${opts.dnsName}`);
  // extended key usage of the leaf
  const usages = opts.keyUsages && opts.keyUsages.length > 0 ? opts.keyUsages : ["1.3.6.1.5.5.7.3.1"];
  if (!usages.includes(null)) {
    const eku = leaf.keyUsage;
    if (eku && eku.length > 0 && !eku.includes("2.5.29.37.0") && !usages.some((u) => eku.includes(u as string)))
      throw new Error("x509: certificate specifies an incompatible key usage");
  }
  const chain = [leafIdx];
  const seen = new Set([leafIdx]);
  let cur = leafIdx;
  for (let depth = 0; depth < certs.length; depth++) {
    const c = certs[cur] as crypto.X509Certificate;
    // reached the trusted root?
    if (cur === 0) return chain;
    const candidates = [0, ...Array.from({ length: certs.length - 2 }, (_, i) => i + 1)].filter((i) => !seen.has(i));
    const parent = candidates.find((i) => {
      const p = certs[i] as crypto.X509Certificate;
      try {
        return c.checkIssued(p) && c.verify(p.publicKey) && p.ca && valid(p);
      } catch {
        return false;
      }
    });
    if (parent === undefined) {
      // the leaf itself may be the trusted root
      if (c.fingerprint256 === (certs[0] as crypto.X509Certificate).fingerprint256) return chain;
      throw new Error("x509: certificate signed by unknown authority");
    }
    chain.push(parent);
    seen.add(parent);
    cur = parent;
  }
  throw new Error("x509: certificate signed by unknown authority");
}

function parseAndVerify(input: string, opts: VerifyOpts): Value {
  const invalid: Value = [false, []];
  let ders: Uint8Array[];
  let parsed: Record<string, unknown>[];
  try {
    ders = certsFromString(input);
    parsed = ders.flatMap((d) => certificatesJSON(d));
  } catch {
    return invalid;
  }
  try {
    const chain = verifyChain(ders, opts);
    return [true, chain.map((i) => fromPlain(parsed[i]))];
  } catch (e) {
    if (e instanceof BuiltinError) throw e;
    return invalid;
  }
}

function verifyOptions(v: Value): VerifyOpts {
  if (!(v instanceof RObject)) throw typeErr(2, "object", v);
  const o: VerifyOpts = {};
  for (const [k, val] of v.entries()) {
    switch (k) {
      case "DNSName":
        if (typeof val !== "string") throw new BuiltinError("'DNSName' should be a string", "eval_type_error");
        o.dnsName = val;
        break;
      case "CurrentTime":
        if (!isNumber(val)) throw new BuiltinError("'CurrentTime' should be a valid int64 number", "eval_type_error");
        o.timeMs = Number(toBigInt(val) / 1000000n);
        break;
      case "MaxConstraintComparisons":
        if (!isNumber(val)) throw new BuiltinError("'MaxConstraintComparisons' should be a valid number", "eval_type_error");
        break;
      case "KeyUsages": {
        if (!Array.isArray(val) && !(val instanceof Object)) throw new BuiltinError("'KeyUsages' should be an Array of Strings", "eval_type_error");
        const items = Array.isArray(val) ? val : [];
        o.keyUsages = items.map((x) => {
          if (typeof x !== "string" || !(x in KEY_USAGES)) throw new BuiltinError(`invalid entries for 'KeyUsages' found: ${String(x)}`, "eval_type_error");
          return KEY_USAGES[x] as string | null;
        });
        break;
      }
      default:
        throw new BuiltinError("invalid key option", "eval_type_error");
    }
  }
  return o;
}

// ---- keys ----------------------------------------------------------------------------------------

const big = (b64u: string | undefined): bigint => (b64u ? BigInt(`0x${Buffer.from(b64u, "base64url").toString("hex") || "0"}`) : 0n);

/** Go's JSON of crypto.PrivateKey structs (rsa / ecdsa / ed25519). */
function goPrivateKeyJSON(k: KeyObject): unknown {
  const t = k.asymmetricKeyType;
  if (t === "rsa") {
    const j = k.export({ format: "jwk" }) as Record<string, string>;
    return {
      N: big(j.n),
      E: Number(big(j.e)),
      D: big(j.d),
      Primes: [big(j.p), big(j.q)],
      Precomputed: { Dp: big(j.dp), Dq: big(j.dq), Qinv: big(j.qi), CRTValues: [] },
    };
  }
  if (t === "ec") {
    const j = k.export({ format: "jwk" }) as Record<string, string>;
    return { Curve: {}, X: big(j.x), Y: big(j.y), D: big(j.d) };
  }
  if (t === "ed25519") {
    const j = k.export({ format: "jwk" }) as Record<string, string>;
    return Buffer.concat([Buffer.from(j.d ?? "", "base64url"), Buffer.from(j.x ?? "", "base64url")]).toString("base64");
  }
  return null;
}

function privateKeyFromBlock(type: string, bytes: Uint8Array): KeyObject | undefined {
  const der = Buffer.from(bytes);
  if (type === "RSA PRIVATE KEY") return crypto.createPrivateKey({ key: der, format: "der", type: "pkcs1" });
  if (type === "PRIVATE KEY") return crypto.createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  if (type === "EC PRIVATE KEY") return crypto.createPrivateKey({ key: der, format: "der", type: "sec1" });
  return undefined;
}

function pemOrBase64(s: string): string {
  if (s.startsWith(BEGIN)) return s;
  return bytesText(b64decode(s, "std"));
}

function parseRSAPrivateKey(s: string): Value {
  const text = pemOrBase64(s);
  const r = pemDecode(text);
  if (!r) throw new BuiltinError("failed to parse PEM block containing the key");
  const { type, bytes } = r.block;
  if (type !== "RSA PRIVATE KEY" && type !== "PRIVATE KEY")
    throw new BuiltinError(`PEM block type is '${type}', expected RSA PRIVATE KEY or PRIVATE KEY`);
  const key = wrap(() => privateKeyFromBlock(type, bytes) as KeyObject);
  const jwk = key.export({ format: "jwk" }) as Record<string, string>;
  const o = new RObject();
  for (const k of Object.keys(jwk)) o.set(k, jwk[k] as string);
  return o;
}

function parseKeyPair(certIn: string, keyIn: string): Value {
  const decodeIf = (s: string): Uint8Array | string => (s.startsWith(BEGIN) ? s : b64decode(s, "std"));
  const c = decodeIf(certIn);
  const k = decodeIf(keyIn);
  const certText = typeof c === "string" ? c : bytesText(c).startsWith(BEGIN) ? bytesText(c) : undefined;
  const certDers = certText !== undefined ? pemBlocks(certText).filter((b) => b.type === "CERTIFICATE").map((b) => b.bytes) : [c as Uint8Array];
  if (certDers.length === 0) throw new BuiltinError("tls: failed to find any PEM data in certificate input");
  const keyText = typeof k === "string" ? k : bytesText(k).startsWith(BEGIN) ? bytesText(k) : undefined;
  let key: KeyObject | undefined;
  if (keyText !== undefined) {
    const blocks = pemBlocks(keyText).filter((b) => b.type === "PRIVATE KEY" || b.type.endsWith(" PRIVATE KEY"));
    const b = blocks[0];
    if (!b) throw new BuiltinError("tls: failed to find any PEM data in key input");
    key = wrap(() => privateKeyFromBlock(b.type, b.bytes) ?? crypto.createPrivateKey({ key: Buffer.from(b.bytes), format: "der", type: "pkcs8" }));
  } else key = wrap(() => crypto.createPrivateKey({ key: Buffer.from(k as Uint8Array), format: "der", type: "pkcs8" }));
  const leafDer = certDers[0] as Uint8Array;
  const leafCert = wrap(() => new crypto.X509Certificate(Buffer.from(leafDer)));
  if (!leafCert.checkPrivateKey(key)) throw new BuiltinError("tls: private key does not match public key");
  const leaf = wrap(() => certificatesJSON(leafDer)[0]);
  return fromPlain({
    Certificate: certDers.map((d) => Buffer.from(d).toString("base64")),
    PrivateKey: goPrivateKeyJSON(key),
    SupportedSignatureAlgorithms: null,
    OCSPStaple: null,
    SignedCertificateTimestamps: null,
    Leaf: leaf,
  });
}

function parsePrivateKeys(s: string): Value {
  if (s === "") return null;
  const text = wrap(() => pemOrBase64(s));
  const out: unknown[] = [];
  for (const b of pemBlocks(text)) {
    if (b.type !== "RSA PRIVATE KEY" && b.type !== "PRIVATE KEY" && b.type !== "EC PRIVATE KEY") continue;
    const key = wrap(() => privateKeyFromBlock(b.type, b.bytes) as KeyObject);
    out.push(goPrivateKeyJSON(key));
  }
  return fromPlain(out);
}

function parseCSR(s: string): Value {
  let bytes: Uint8Array;
  if (s.startsWith("-----BEGIN CERTIFICATE REQUEST-----")) bytes = utf8.encode(s);
  else bytes = wrap(() => b64decode(s, "std"));
  const r = pemDecode(bytesText(bytes));
  if (r && r.block.type !== "CERTIFICATE REQUEST") throw new BuiltinError("invalid PEM-encoded certificate signing request");
  if (r) bytes = r.block.bytes;
  try {
    return fromPlain(csrJSON(bytes));
  } catch (e) {
    throw new BuiltinError(e instanceof ASN1Error ? e.message : `asn1: structure error: ${(e as Error).message}`);
  }
}

export const builtins: BuiltinDef[] = [
  def("crypto.md5", 1, digest("md5")),
  def("crypto.sha1", 1, digest("sha1")),
  def("crypto.sha256", 1, digest("sha256")),
  def("crypto.hmac.md5", 2, hmac("md5")),
  def("crypto.hmac.sha1", 2, hmac("sha1")),
  def("crypto.hmac.sha256", 2, hmac("sha256")),
  def("crypto.hmac.sha512", 2, hmac("sha512")),
  def("crypto.hmac.equal", 2, (args) => {
    const a = utf8.encode(argString(args, 0));
    const b = utf8.encode(argString(args, 1));
    return a.length === b.length && crypto.timingSafeEqual(a, b);
  }),
  def("crypto.x509.parse_certificates", 1, (args) => {
    const s = argString(args, 0);
    return fromPlain(wrap(() => parseCerts(s)));
  }),
  def("crypto.x509.parse_and_verify_certificates", 1, (args) => parseAndVerify(argString(args, 0), {})),
  def("crypto.x509.parse_and_verify_certificates_with_options", 2, (args) => parseAndVerify(argString(args, 0), verifyOptions(args[1] as Value))),
  def("crypto.x509.parse_certificate_request", 1, (args) => parseCSR(argString(args, 0))),
  def("crypto.x509.parse_keypair", 2, (args) => parseKeyPair(argString(args, 0), argString(args, 1))),
  def("crypto.x509.parse_rsa_private_key", 1, (args) => wrap(() => parseRSAPrivateKey(argString(args, 0)))),
  def("crypto.parse_private_keys", 1, (args) => parsePrivateKeys(argString(args, 0))),
];
