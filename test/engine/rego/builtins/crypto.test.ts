import { describe, expect, test } from "bun:test";
import crypto from "node:crypto";
import { call, callErr, callJ } from "./helpers.ts";
import { makeCert, makeCSR } from "./certs.ts";

describe("digests and HMAC (RFC 4231 / known vectors)", () => {
  test("md5 / sha1 / sha256", () => {
    expect(call("crypto.md5", ["lorem ipsum"])).toBe("80a751fde577028640c419000e33eba6");
    expect(call("crypto.sha1", ["abc"])).toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
    expect(call("crypto.sha256", ["abc"])).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
  test("hmac (RFC 4231 test case 2) and equal", () => {
    expect(call("crypto.hmac.sha256", ["what do ya want for nothing?", "Jefe"])).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    expect(call("crypto.hmac.sha512", ["what do ya want for nothing?", "Jefe"])).toBe(
      "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
    );
    expect(call("crypto.hmac.md5", ["foo", "bar"])).toBe("31b6db9e5eb4addb42f1a6ca07367adc");
    expect(call("crypto.hmac.equal", ["abc", "abc"])).toBe(true);
    expect(call("crypto.hmac.equal", ["abc", "abd"])).toBe(false);
  });
});

describe("crypto.x509.*", () => {
  const root = makeCert({ cn: "Test Root CA", org: "TapPass", ca: true, key: crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }) });
  const inter = makeCert({ cn: "Test Intermediate CA", ca: true, issuer: root, serial: 2 });
  const leaf = makeCert({ cn: "svc.example.test", dns: ["svc.example.test"], uris: ["spiffe://example.test/svc"], issuer: inter, serial: 3 });

  test("parse_certificates: PEM, base64 PEM, base64 DER", () => {
    const pems = leaf.pem + inter.pem + root.pem;
    for (const input of [pems, Buffer.from(pems).toString("base64")]) {
      const certs = callJ("crypto.x509.parse_certificates", [input]) as Record<string, any>[];
      expect(certs.map((c) => c.Subject.CommonName)).toEqual(["svc.example.test", "Test Intermediate CA", "Test Root CA"]);
      expect(certs[0]?.DNSNames).toEqual(["svc.example.test"]);
      expect(certs[0]?.URIStrings).toEqual(["spiffe://example.test/svc"]);
      expect(certs[0]?.Issuer.CommonName).toBe("Test Intermediate CA");
      expect(certs[2]?.IsCA).toBe(true);
      expect(certs[2]?.PublicKeyAlgorithm).toBe(1);
      expect(certs[0]?.PublicKeyAlgorithm).toBe(3);
      expect(certs[1]?.SignatureAlgorithm).toBe(4); // SHA256WithRSA (signed by the RSA root)
      expect(certs[2]?.Subject.Organization).toEqual(["TapPass"]);
    }
    const der = callJ("crypto.x509.parse_certificates", [leaf.der.toString("base64")]) as Record<string, any>[];
    expect(der[0]?.SerialNumber).toBe(3);
    expect(callErr("crypto.x509.parse_certificates", ["YmFkc3RyaW5n"]).message).toBe("x509: malformed certificate");
    expect(callErr("crypto.x509.parse_certificates", ["foobar"]).message).toContain("illegal base64");
  });

  test("parse_and_verify_certificates: chain root → intermediate → leaf", () => {
    const ok = callJ("crypto.x509.parse_and_verify_certificates", [root.pem + inter.pem + leaf.pem]) as [boolean, Record<string, any>[]];
    expect(ok[0]).toBe(true);
    expect(ok[1].map((c) => c.Subject.CommonName)).toEqual(["svc.example.test", "Test Intermediate CA", "Test Root CA"]);
    const stranger = makeCert({ cn: "Other Root", ca: true });
    expect(callJ("crypto.x509.parse_and_verify_certificates", [stranger.pem + inter.pem + leaf.pem])).toEqual([false, []]);
    const opts = { DNSName: "svc.example.test" };
    expect((callJ("crypto.x509.parse_and_verify_certificates_with_options", [root.pem + inter.pem + leaf.pem, opts]) as unknown[])[0]).toBe(true);
    expect((callJ("crypto.x509.parse_and_verify_certificates_with_options", [root.pem + inter.pem + leaf.pem, { DNSName: "evil.test" }]) as unknown[])[0]).toBe(false);
    const future = (BigInt(Date.now()) + 10n * 365n * 86400000n) * 1000000n;
    expect((callJ("crypto.x509.parse_and_verify_certificates_with_options", [root.pem + inter.pem + leaf.pem, { CurrentTime: future }]) as unknown[])[0]).toBe(false);
  });

  test("parse_certificate_request", () => {
    const kp = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
    const csr = makeCSR("csr.example.test", kp);
    const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${csr.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
    for (const input of [pem, Buffer.from(pem).toString("base64"), csr.toString("base64")]) {
      expect((callJ("crypto.x509.parse_certificate_request", [input]) as any).Subject.CommonName).toBe("csr.example.test");
    }
    expect(callErr("crypto.x509.parse_certificate_request", ["YmFkc3RyaW5n"]).message).toContain("asn1: structure error");
  });

  test("keys: parse_rsa_private_key, parse_private_keys, parse_keypair", () => {
    const kp = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pkcs1 = kp.privateKey.export({ format: "pem", type: "pkcs1" }) as string;
    const jwk = callJ("crypto.x509.parse_rsa_private_key", [pkcs1]) as Record<string, string>;
    expect(jwk).toEqual(kp.privateKey.export({ format: "jwk" }) as never);
    expect(callErr("crypto.x509.parse_rsa_private_key", ["invalid"]).message).toContain("illegal base64");
    const ec = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "pem", type: "sec1" }) as string;
    expect((callJ("crypto.parse_private_keys", [pkcs1 + ec]) as unknown[]).length).toBe(2);
    expect(callJ("crypto.parse_private_keys", [""])).toBeNull();
    const cert = makeCert({ cn: "kp.example.test", key: kp });
    const pair = callJ("crypto.x509.parse_keypair", [cert.pem, kp.privateKey.export({ format: "pem", type: "pkcs8" }) as string]) as any;
    expect(pair.Certificate[0]).toBe(cert.der.toString("base64"));
    const other = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "pem", type: "pkcs8" }) as string;
    expect(callErr("crypto.x509.parse_keypair", [cert.pem, other]).message).toContain("private key does not match");
  });
});
