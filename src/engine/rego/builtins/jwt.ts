/**
 * io.jwt.* builtins on node:crypto's synchronous APIs (HMAC, RSA PKCS#1 v1.5 / PSS, ECDSA with
 * raw r||s signatures, Ed25519). Keys come from PEM certificates, PEM public keys, or JWK / JWK
 * sets; signing keys from JWKs.
 */
import crypto, { type KeyObject } from "node:crypto";
import { isNumber, RObject, toJSNumber, type Value } from "../value.ts";
import { argString, type BuiltinDef, BuiltinError, def, typeErr } from "./registry.ts";
import { b64decode, b64encode, bytesToString, jsonText, parseJSON, pemDecode, utf8 } from "./ext_util.ts";

interface Token {
  header: string;
  payload: string;
  signature: string;
}

function decodeJWT(v: Value): Token {
  if (typeof v !== "string") throw typeErr(1, "string", v);
  if (!v.includes(".")) throw new BuiltinError("encoded JWT had no period separators");
  const parts = v.split(".");
  if (parts.length !== 3) throw new BuiltinError(`encoded JWT must have 3 sections, found ${parts.length}`);
  return { header: parts[0] as string, payload: parts[1] as string, signature: parts[2] as string };
}

function b64url(s: string, what: string): Uint8Array {
  try {
    return b64decode(s, "rawurl");
  } catch (e) {
    throw new BuiltinError(`JWT ${what} had invalid encoding: ${(e as Error).message}`);
  }
}

function extractJSONObject(s: string): RObject {
  let v: Value;
  try {
    v = parseJSON(s);
  } catch (e) {
    throw new BuiltinError((e as Error).message);
  }
  if (!(v instanceof RObject)) throw new BuiltinError("decoded JSON type is not an Object");
  return v;
}

function decodeHeader(t: Token): RObject {
  const h = bytesToString(b64url(t.header, "header"));
  let header: RObject;
  try {
    header = extractJSONObject(h);
  } catch (e) {
    throw new BuiltinError(`bad JWT header: ${(e as Error).message}`);
  }
  if (header.get("enc") !== undefined) throw new BuiltinError("JWT is a JWE object, which is not supported");
  return header;
}

// ---- keys ---------------------------------------------------------------------------------------

interface VKey {
  key: KeyObject | Uint8Array;
  alg: string;
  kid: string;
}

function jwkToKey(jwk: RObject, priv: boolean): KeyObject | Uint8Array {
  const kty = jwk.get("kty");
  const json = JSON.parse(jsonText(jwk)) as JsonWebKey;
  if (kty === "oct") {
    const k = jwk.get("k");
    if (typeof k !== "string") throw new Error("failed to parse oct key");
    return b64decode(k.replace(/=+$/, ""), "rawurl");
  }
  if (kty !== "RSA" && kty !== "EC" && kty !== "OKP") throw new Error(`unsupported key type ${String(kty)}`);
  if (priv && json.d !== undefined) return crypto.createPrivateKey({ key: json as crypto.JsonWebKeyInput["key"], format: "jwk" });
  return crypto.createPublicKey({ key: json as crypto.JsonWebKeyInput["key"], format: "jwk" });
}

function parseJWKSet(s: string, priv = false): VKey[] {
  const v = parseJSON(s);
  if (!(v instanceof RObject)) throw new Error("invalid JWK");
  const list = v.get("keys");
  const items = Array.isArray(list) ? list : [v];
  const out: VKey[] = [];
  for (const k of items) {
    if (!(k instanceof RObject)) throw new Error("invalid JWK");
    const alg = k.get("alg");
    const kid = k.get("kid");
    out.push({ key: jwkToKey(k, priv), alg: typeof alg === "string" ? alg : "", kid: typeof kid === "string" ? kid : "" });
  }
  return out;
}

function keysFromCertOrJWK(s: string): VKey[] {
  const pem = pemDecode(s);
  if (pem) {
    if (pem.rest.length > 0) throw new BuiltinError("extra data after a PEM certificate block");
    if (pem.block.type === "CERTIFICATE") {
      try {
        const cert = new crypto.X509Certificate(Buffer.from(pem.block.bytes));
        return [{ key: cert.publicKey, alg: "", kid: "" }];
      } catch (e) {
        throw new BuiltinError(`failed to parse a PEM certificate: ${(e as Error).message}`);
      }
    }
    if (pem.block.type === "PUBLIC KEY") {
      try {
        return [{ key: crypto.createPublicKey({ key: Buffer.from(pem.block.bytes), format: "der", type: "spki" }), alg: "", kid: "" }];
      } catch (e) {
        throw new BuiltinError(`failed to parse a PEM public key: ${(e as Error).message}`);
      }
    }
    throw new BuiltinError("failed to extract a Key from the PEM certificate");
  }
  try {
    return parseJWKSet(s);
  } catch (e) {
    throw new BuiltinError(`failed to parse a JWK key (set): ${(e as Error).message}`);
  }
}

// ---- algorithms ---------------------------------------------------------------------------------

type Verify = (key: KeyObject | Uint8Array, data: Uint8Array, sig: Uint8Array) => boolean;

function isKeyObject(k: KeyObject | Uint8Array): k is KeyObject {
  return !(k instanceof Uint8Array);
}

function pubKey(k: KeyObject): KeyObject {
  return k.type === "private" ? crypto.createPublicKey(k) : k;
}

const hmacVerify =
  (hash: string): Verify =>
  (key, data, sig) => {
    if (isKeyObject(key)) throw new Error("incorrect symmetric key type");
    const mac = crypto.createHmac(hash, key).update(data).digest();
    return mac.length === sig.length && crypto.timingSafeEqual(mac, sig);
  };

const rsaVerify =
  (hash: string, pss: boolean): Verify =>
  (key, data, sig) => {
    if (!isKeyObject(key) || pubKey(key).asymmetricKeyType !== "rsa") throw new Error("incorrect public key type");
    const opts: crypto.VerifyKeyObjectInput = pss
      ? { key: pubKey(key), padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: crypto.constants.RSA_PSS_SALTLEN_AUTO }
      : { key: pubKey(key), padding: crypto.constants.RSA_PKCS1_PADDING };
    try {
      return crypto.verify(hash, data, opts, sig);
    } catch {
      return false;
    }
  };

function derInt(b: Uint8Array): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  let v = Buffer.from(b.slice(i));
  if (v.length === 0) v = Buffer.from([0]);
  if ((v[0] as number) & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return Buffer.concat([Buffer.from([0x02, v.length]), v]);
}

const ecVerify =
  (hash: string): Verify =>
  (key, data, sig) => {
    if (!isKeyObject(key) || pubKey(key).asymmetricKeyType !== "ec") throw new Error("incorrect public key type");
    const n = Math.floor(sig.length / 2);
    const r = derInt(sig.slice(0, n));
    const s = derInt(sig.slice(n));
    const body = Buffer.concat([r, s]);
    const len = body.length < 128 ? Buffer.from([body.length]) : Buffer.from([0x81, body.length]);
    const der = Buffer.concat([Buffer.from([0x30]), len, body]);
    try {
      return crypto.verify(hash, data, { key: pubKey(key), dsaEncoding: "der" }, der);
    } catch {
      return false;
    }
  };

const edVerify: Verify = (key, data, sig) => {
  if (!isKeyObject(key) || pubKey(key).asymmetricKeyType !== "ed25519") throw new Error("incorrect public key type");
  try {
    return crypto.verify(null, data, pubKey(key), sig);
  } catch {
    return false;
  }
};

const ALGS: Record<string, { verify: Verify; sign: (key: KeyObject | Uint8Array, data: Uint8Array) => Uint8Array }> = {};
for (const [bits, hash] of [
  ["256", "sha256"],
  ["384", "sha384"],
  ["512", "sha512"],
] as const) {
  ALGS[`HS${bits}`] = {
    verify: hmacVerify(hash),
    sign: (key, data) => {
      if (isKeyObject(key)) throw new BuiltinError("invalid key for HMAC signing");
      return crypto.createHmac(hash, key).update(data).digest();
    },
  };
  ALGS[`RS${bits}`] = {
    verify: rsaVerify(hash, false),
    sign: (key, data) => crypto.sign(hash, data, { key: key as KeyObject, padding: crypto.constants.RSA_PKCS1_PADDING }),
  };
  ALGS[`PS${bits}`] = {
    verify: rsaVerify(hash, true),
    sign: (key, data) =>
      crypto.sign(hash, data, { key: key as KeyObject, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: crypto.constants.RSA_PSS_SALTLEN_DIGEST }),
  };
  ALGS[`ES${bits}`] = {
    verify: ecVerify(hash),
    sign: (key, data) => crypto.sign(hash, data, { key: key as KeyObject, dsaEncoding: "ieee-p1363" }),
  };
}
ALGS.EdDSA = { verify: edVerify, sign: (key, data) => crypto.sign(null, data, key as KeyObject) };

function verifyWith(token: Value, keyArg: Value, alg: string): boolean {
  const t = decodeJWT(token);
  if (typeof keyArg !== "string") throw typeErr(2, "string", keyArg);
  const keys = keysFromCertOrJWK(keyArg);
  const sig = b64url(t.signature, "signature");
  decodeHeader(t);
  const data = utf8.encode(`${t.header}.${t.payload}`);
  const a = ALGS[alg] as (typeof ALGS)[string];
  for (const k of keys) {
    try {
      if (a.verify(k.key, data, sig)) return true;
    } catch {
      // wrong key type for this algorithm: try the next key
    }
  }
  return false;
}

function verifyHS(token: Value, secret: Value, hash: string): boolean {
  const t = decodeJWT(token);
  if (typeof secret !== "string") throw typeErr(2, "string", secret);
  const mac = crypto.createHmac(hash, utf8.encode(secret)).update(utf8.encode(`${t.header}.${t.payload}`)).digest();
  const sig = b64url(t.signature, "signature");
  return mac.length === sig.length && crypto.timingSafeEqual(mac, sig);
}

// ---- decode_verify -----------------------------------------------------------------------------

interface Constraints {
  keys?: VKey[];
  secret: string;
  alg: string;
  iss: string;
  aud: string;
  time: number; // ns as float64
}

function parseConstraints(v: Value, nowNs: bigint): Constraints {
  if (!(v instanceof RObject)) throw typeErr(2, "object", v);
  const c: Constraints = { secret: "", alg: "", iss: "", aud: "", time: Number(nowNs) };
  for (const [k, val] of v.entries()) {
    const name = typeof k === "string" ? k : jsonText(k);
    const str = (): string => {
      if (typeof val !== "string") throw new BuiltinError(`${name} constraint: must be a string`);
      return val;
    };
    switch (name) {
      case "cert":
        c.keys = keysFromCertOrJWK(str());
        break;
      case "secret":
        c.secret = str();
        break;
      case "alg":
        c.alg = str();
        break;
      case "iss":
        c.iss = str();
        break;
      case "aud":
        c.aud = str();
        break;
      case "time":
        if (!isNumber(val)) throw new BuiltinError("time constraint: must be a number");
        c.time = toJSNumber(val);
        break;
      default:
        throw new BuiltinError(`unknown token validation constraint: ${name}`);
    }
  }
  const n = (c.keys ? 1 : 0) + (c.secret !== "" ? 1 : 0);
  if (n > 1) throw new BuiltinError("duplicate key constraints");
  if (n < 1) throw new BuiltinError("no key constraint");
  return c;
}

const UNVERIFIED = (): Value => [false, new RObject(), new RObject()];

function decodeVerify(tokenArg: Value, constraintsArg: Value, nowNs: bigint): Value {
  const c = parseConstraints(constraintsArg, nowNs);
  let a: Value = tokenArg;
  let header: RObject;
  let payloadText: string;
  for (;;) {
    const t = decodeJWT(a);
    header = decodeHeader(t);
    const alg = header.get("alg");
    if (alg !== undefined && typeof alg !== "string") throw new BuiltinError("invalid JWT header: alg must be a string");
    const crit = header.get("crit");
    if (typeof alg !== "string" || alg === "") return UNVERIFIED();
    if (crit !== undefined) {
      // no critical extensions are understood
      if (!Array.isArray(crit) || crit.length > 0) return UNVERIFIED();
    }
    if (c.alg !== "" && c.alg !== alg) return UNVERIFIED();
    const sig = b64url(t.signature, "signature");
    const algo = ALGS[alg];
    if (!algo) throw new BuiltinError(`unknown JWS algorithm: ${alg}`);
    const data = utf8.encode(`${t.header}.${t.payload}`);
    const kidV = header.get("kid");
    const kid = typeof kidV === "string" ? kidV : "";
    let ok = false;
    if (c.keys) {
      const byKid = kid !== "" ? c.keys.find((k) => k.kid === kid) : undefined;
      const candidates = byKid ? [byKid] : c.keys.filter((k) => k.alg === "" || k.alg === alg);
      for (const k of candidates) {
        try {
          if (algo.verify(k.key, data, sig)) {
            ok = true;
            break;
          }
        } catch {
          // wrong key type: not verified by this key
        }
      }
    } else {
      try {
        ok = algo.verify(utf8.encode(c.secret), data, sig);
      } catch (e) {
        throw new BuiltinError((e as Error).message);
      }
    }
    if (!ok) return UNVERIFIED();
    payloadText = bytesToString(b64url(t.payload, "payload"));
    const cty = header.get("cty");
    if (typeof cty === "string" && cty.toUpperCase() === "JWT") {
      a = payloadText;
      continue;
    }
    break;
  }
  const payload = extractJSONObject(payloadText);
  if (c.iss !== "") {
    const iss = payload.get("iss");
    if (iss === undefined || iss !== c.iss) return UNVERIFIED();
  }
  const aud = payload.get("aud");
  if (aud !== undefined) {
    const valid = typeof aud === "string" ? aud === c.aud : Array.isArray(aud) ? aud.some((x) => x === c.aud) : false;
    if (!valid) return UNVERIFIED();
  } else if (c.aud !== "") return UNVERIFIED();
  const nowS = c.time / 1e9;
  const exp = payload.get("exp");
  if (exp !== undefined) {
    if (!isNumber(exp)) throw new BuiltinError("exp value must be a number");
    if (!(nowS < toJSNumber(exp))) return UNVERIFIED();
  }
  const nbf = payload.get("nbf");
  if (nbf !== undefined) {
    if (!isNumber(nbf)) throw new BuiltinError("nbf value must be a number");
    if (nowS < toJSNumber(nbf)) return UNVERIFIED();
  }
  return [true, header, payload];
}

// ---- decode / encode ---------------------------------------------------------------------------

function jwtDecode(v: Value): Value {
  const t = decodeJWT(v);
  const header = decodeHeader(t);
  let p = bytesToString(b64url(t.payload, "payload"));
  const cty = header.get("cty");
  if (cty === "JWT") {
    if (p.startsWith('"')) p = p.slice(1);
    if (p.endsWith('"')) p = p.slice(0, -1);
    return jwtDecode(p);
  }
  let payload: RObject;
  try {
    payload = extractJSONObject(p);
  } catch (e) {
    throw new BuiltinError(`JWT payload had invalid encoding: ${(e as Error).message}`);
  }
  const sig = b64url(t.signature, "signature");
  return [header, payload, Buffer.from(sig).toString("hex")];
}

function findAlg(headers: string): string {
  const h = headers.trim();
  if (h === "") throw new BuiltinError("missing or invalid 'alg' header: cannot parse JSON: cannot parse empty string");
  if (!h.startsWith("{")) throw new BuiltinError(`missing or invalid 'alg' header: jwsbb: header "alg" not found`);
  let v: Value;
  try {
    v = parseJSON(h);
  } catch {
    throw new BuiltinError("missing or invalid 'alg' header: cannot parse JSON");
  }
  const alg = (v as RObject).get("alg");
  if (alg === undefined) throw new BuiltinError(`missing or invalid 'alg' header: jwsbb: header "alg" not found`);
  if (typeof alg !== "string") throw new BuiltinError("missing or invalid 'alg' header: alg must be a string");
  return alg;
}

function encodeSign(headers: string, payload: string, jwkSrc: string): string {
  let key: KeyObject | Uint8Array;
  try {
    const keys = parseJWKSet(jwkSrc, true);
    if (keys.length === 0) throw new Error("empty key set");
    key = (keys[0] as VKey).key;
  } catch (e) {
    throw new BuiltinError(`failed to parse a JWK key (set): ${(e as Error).message}`);
  }
  const alg = findAlg(headers);
  const a = ALGS[alg];
  if (!a || alg === "none") throw new BuiltinError("unknown signature algorithm");
  const hv = parseJSON(headers) as RObject;
  const typ = hv.get("typ");
  if (typ === undefined || typ === "" || typ === "JWT") {
    try {
      parseJSON(payload);
    } catch {
      throw new BuiltinError("type is JWT but payload is not JSON");
    }
  }
  const signingInput = `${b64encode(utf8.encode(headers), "rawurl")}.${b64encode(utf8.encode(payload), "rawurl")}`;
  let sig: Uint8Array;
  try {
    sig = a.sign(key, utf8.encode(signingInput));
  } catch (e) {
    throw new BuiltinError(`failed to sign payload: ${(e as Error).message}`);
  }
  return `${signingInput}.${b64encode(sig, "rawurl")}`;
}

export const builtins: BuiltinDef[] = [
  def("io.jwt.decode", 1, ([t]) => jwtDecode(t as Value)),
  def("io.jwt.decode_verify", 2, ([t, c], ctx) => decodeVerify(t as Value, c as Value, ctx.timeNs)),
  def("io.jwt.verify_hs256", 2, ([t, s]) => verifyHS(t as Value, s as Value, "sha256")),
  def("io.jwt.verify_hs384", 2, ([t, s]) => verifyHS(t as Value, s as Value, "sha384")),
  def("io.jwt.verify_hs512", 2, ([t, s]) => verifyHS(t as Value, s as Value, "sha512")),
  ...(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"] as const).map((alg) =>
    def(`io.jwt.verify_${alg.toLowerCase()}`, 2, ([t, k]) => verifyWith(t as Value, k as Value, alg)),
  ),
  def("io.jwt.encode_sign_raw", 3, (args) => encodeSign(argString(args, 0), argString(args, 1), argString(args, 2))),
  def("io.jwt.encode_sign", 3, ([h, p, k]) => {
    if (!(h instanceof RObject)) throw typeErr(1, "object", h as Value);
    if (!(p instanceof RObject)) throw typeErr(2, "object", p as Value);
    if (!(k instanceof RObject)) throw typeErr(3, "object", k as Value);
    return encodeSign(jsonText(h), jsonText(p), jsonText(k));
  }),
];
