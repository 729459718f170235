import { describe, expect, test } from "bun:test";
import crypto from "node:crypto";
import { call, callErr, callJ, ctx } from "./helpers.ts";
import { makeCert } from "./certs.ts";

const b64u = (s: string) => Buffer.from(s).toString("base64url");

describe("io.jwt.*", () => {
  // RFC 7515 Appendix A.1 (HS256)
  const rfcKey = { kty: "oct", k: "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow" };
  const rfcHeader = '{"typ":"JWT",\r\n "alg":"HS256"}';
  const rfcPayload = '{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}';

  test("encode_sign_raw reproduces RFC 7515 A.1", () => {
    expect(call("io.jwt.encode_sign_raw", [rfcHeader, rfcPayload, JSON.stringify(rfcKey)])).toBe(
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    );
  });

  test("decode", () => {
    const [h, p, s] = callJ("io.jwt.decode", [
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIwIiwiaXNzIjoib3BhIn0.XmVoLoHI3pxMtMO_WRONMSJzGUDP9pDjy8Jp0_tdRXY",
    ]) as unknown[];
    expect(h).toEqual({ alg: "HS256", typ: "JWT" });
    expect(p).toEqual({ iss: "opa", sub: "0" });
    expect(s).toBe("5e65682e81c8de9c4cb4c3bf59138d3122731940cff690e3cbc269d3fb5d4576");
    expect(callErr("io.jwt.decode", ["abc"]).message).toBe("encoded JWT had no period separators");
    expect(callErr("io.jwt.decode", ["a.b"]).message).toBe("encoded JWT must have 3 sections, found 2");
    const jwe = `${b64u('{"alg":"RSA-OAEP","enc":"A256GCM"}')}.${b64u("{}")}.`;
    expect(callErr("io.jwt.decode", [jwe]).message).toBe("JWT is a JWE object, which is not supported");
  });

  test("sign and verify with every algorithm family", () => {
    const rsa = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    const cases: [string, crypto.KeyObject, crypto.KeyObject][] = [];
    for (const bits of ["256", "384", "512"]) {
      cases.push([`RS${bits}`, rsa.privateKey, rsa.publicKey], [`PS${bits}`, rsa.privateKey, rsa.publicKey]);
    }
    const curves: Record<string, string> = { "256": "P-256", "384": "P-384", "512": "P-521" };
    for (const [bits, curve] of Object.entries(curves)) {
      const ec = crypto.generateKeyPairSync("ec", { namedCurve: curve });
      cases.push([`ES${bits}`, ec.privateKey, ec.publicKey]);
    }
    const ed = crypto.generateKeyPairSync("ed25519");
    cases.push(["EdDSA", ed.privateKey, ed.publicKey]);
    const other = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
    for (const [alg, priv, pub] of cases) {
      const jwk = priv.export({ format: "jwk" });
      const token = call("io.jwt.encode_sign", [{ alg, typ: "JWT" }, { iss: "tappass", n: 1 }, jwk]) as string;
      const pubPem = pub.export({ format: "pem", type: "spki" }) as string;
      const pubJwk = JSON.stringify(pub.export({ format: "jwk" }));
      const fn = `io.jwt.verify_${alg.toLowerCase()}`;
      expect(call(fn, [token, pubPem])).toBe(true);
      expect(call(fn, [token, pubJwk])).toBe(true);
      expect(call(fn, [token, JSON.stringify({ keys: [other.publicKey.export({ format: "jwk" }), pub.export({ format: "jwk" })] })])).toBe(true);
      expect(call(fn, [token, other.publicKey.export({ format: "pem", type: "spki" }) as string])).toBe(false);
      const tampered = token.replace(/\.[^.]+\./, `.${b64u('{"iss":"mallory","n":1}')}.`);
      expect(call(fn, [tampered, pubPem])).toBe(false);
      const [ok, header, payload] = callJ("io.jwt.decode_verify", [token, { cert: pubPem, iss: "tappass" }]) as unknown[];
      expect([ok, header, payload]).toEqual([true, { alg, typ: "JWT" }, { iss: "tappass", n: 1 }]);
    }
  });

  test("verify with a certificate; PEM errors", () => {
    const kp = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    const cert = makeCert({ cn: "jwt.example.test", key: kp });
    const token = call("io.jwt.encode_sign", [{ alg: "RS256" }, { sub: "x" }, kp.privateKey.export({ format: "jwk" })]) as string;
    expect(call("io.jwt.verify_rs256", [token, cert.pem])).toBe(true);
    expect(call("io.jwt.verify_ps256", [token, cert.pem])).toBe(false);
    expect(callErr("io.jwt.verify_rs256", [token, `${cert.pem}EXTRA`]).message).toBe("extra data after a PEM certificate block");
    expect(callErr("io.jwt.verify_rs256", [token, cert.pem.replaceAll("CERTIFICATE", "CERT")]).message).toBe("failed to extract a Key from the PEM certificate");
    expect(callErr("io.jwt.verify_rs256", [token, "{not json"]).message).toContain("failed to parse a JWK key (set)");
  });

  test("HS verify and decode_verify claims (exp, nbf, aud, iss, alg, time)", () => {
    const secret = "s3cret";
    const key = { kty: "oct", k: b64u(secret) };
    const sign = (payload: Record<string, unknown>, header: Record<string, unknown> = { alg: "HS256", typ: "JWT" }) =>
      call("io.jwt.encode_sign", [header, payload, key]) as string;
    const t = sign({ iss: "xxx", aud: ["a", "b"], nbf: 1000, exp: 3000 });
    expect(call("io.jwt.verify_hs256", [t, secret])).toBe(true);
    expect(call("io.jwt.verify_hs256", [t, "wrong"])).toBe(false);
    const dv = (c: Record<string, unknown>) => (callJ("io.jwt.decode_verify", [t, { secret, ...c }]) as unknown[])[0];
    expect(dv({ time: 2000e9, aud: "a" })).toBe(true);
    expect(dv({ time: 2000e9 })).toBe(false); // token has aud, constraint has none
    expect(dv({ time: 2000e9, aud: "c" })).toBe(false);
    expect(dv({ time: 3000e9, aud: "a" })).toBe(false); // exp reached
    expect(dv({ time: 999e9, aud: "a" })).toBe(false); // before nbf
    expect(dv({ time: 2000e9, aud: "a", iss: "yyy" })).toBe(false);
    expect(dv({ time: 2000e9, aud: "a", alg: "HS512" })).toBe(false);
    // default time is the evaluation time (exp 3000 s is long past)
    expect((callJ("io.jwt.decode_verify", [t, { secret, aud: "a" }], ctx()) as unknown[])[0]).toBe(false);
    expect(callErr("io.jwt.decode_verify", [t, { secret, bogus: 1 }]).message).toBe("unknown token validation constraint: bogus");
    expect(callErr("io.jwt.decode_verify", [t, {}]).message).toBe("no key constraint");
    expect(callErr("io.jwt.decode_verify", [sign({ exp: null }), { secret }]).message).toBe("exp value must be a number");
    expect(callErr("io.jwt.encode_sign_raw", ["{}", "{}", JSON.stringify(key)]).message).toBe(`missing or invalid 'alg' header: jwsbb: header "alg" not found`);
    expect(callErr("io.jwt.encode_sign_raw", ['{"alg":"HS256"}', "", JSON.stringify(key)]).message).toBe("type is JWT but payload is not JSON");
  });
});
