import { describe, expect, test } from "bun:test";
import { signV4 } from "../../../../src/engine/rego/builtins/aws.ts";
import { callErr, callJ } from "./helpers.ts";

// AWS SigV4 test suite credentials / time (aws-sig-v4-test-suite): 2015-08-30T12:36:00Z.
const AWS_SUITE = {
  service: "service",
  region: "us-east-1",
  accessKey: "AKIDEXAMPLE",
  secretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  timeNs: 1440938160n * 1_000_000_000n,
};
const cfg = {
  aws_access_key: AWS_SUITE.accessKey,
  aws_secret_access_key: AWS_SUITE.secretKey,
  aws_service: AWS_SUITE.service,
  aws_region: AWS_SUITE.region,
};
const TS = 1440938160e9;

describe("SigV4 (AWS test-suite vectors)", () => {
  test("get-vanilla", () => {
    const r = signV4({ ...AWS_SUITE, method: "GET", url: "https://example.amazonaws.com/", headers: [], body: "" });
    expect(r.authorization).toBe(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31".replace(
        /, /g,
        ",",
      ),
    );
    expect(r.awsHeaders).toEqual([
      ["host", "example.amazonaws.com"],
      ["x-amz-date", "20150830T123600Z"],
    ]);
  });
  test("post-vanilla", () => {
    const r = signV4({ ...AWS_SUITE, method: "POST", url: "https://example.amazonaws.com/", headers: [], body: "" });
    expect(r.authorization).toEndWith("Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
  });
  test("post-x-www-form-urlencoded (request header signed, body hashed)", () => {
    const r = signV4({
      ...AWS_SUITE,
      method: "POST",
      url: "https://example.amazonaws.com/",
      headers: [["Content-Type", "application/x-www-form-urlencoded"]],
      body: "Param1=value1",
    });
    expect(r.authorization).toContain("SignedHeaders=content-type;host;x-amz-date,");
    expect(r.authorization).toEndWith("Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
  });
});

describe("providers.aws.sign_req", () => {
  test("signs and merges headers", () => {
    const out = callJ("providers.aws.sign_req", [
      { method: "GET", url: "https://example.amazonaws.com/", headers: { foo: "bar", "User-Agent": "x" } },
      cfg,
      TS,
    ]) as { method: string; headers: Record<string, string> };
    expect(out.method).toBe("GET");
    expect(out.headers.foo).toBe("bar");
    expect(out.headers["User-Agent"]).toBe("x");
    expect(out.headers.host).toBe("example.amazonaws.com");
    expect(out.headers["x-amz-date"]).toBe("20150830T123600Z");
    // user-agent is never signed
    expect(out.headers.Authorization).toContain("SignedHeaders=foo;host;x-amz-date,");
    expect(out.headers["x-amz-content-sha256"]).toBeUndefined();
  });
  test("s3 adds the content hash; payload signing can be disabled; session token is signed", () => {
    const s3 = { ...cfg, aws_service: "s3", aws_session_token: "TOKEN" };
    const a = callJ("providers.aws.sign_req", [{ method: "GET", url: "https://b.s3.amazonaws.com/k" }, s3, TS]) as {
      headers: Record<string, string>;
    };
    expect(a.headers["x-amz-content-sha256"]).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(a.headers["x-amz-security-token"]).toBe("TOKEN");
    expect(a.headers.Authorization).toContain("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,");
    const b = callJ("providers.aws.sign_req", [
      { method: "GET", url: "https://b.s3.amazonaws.com/k" },
      { ...s3, disable_payload_signing: true },
      TS,
    ]) as {
      headers: Record<string, string>;
    };
    expect(b.headers["x-amz-content-sha256"]).toBe("UNSIGNED-PAYLOAD");
    expect(b.headers.Authorization).not.toBe(a.headers.Authorization);
  });
  test("body is JSON-encoded, raw_body wins", () => {
    const s3 = { ...cfg, aws_service: "s3" };
    const h = (req: object) =>
      (callJ("providers.aws.sign_req", [req, s3, TS]) as { headers: Record<string, string> }).headers["x-amz-content-sha256"];
    expect(h({ method: "PUT", url: "https://x/", body: { b: 1, a: "<" } })).toBe(
      new Bun.CryptoHasher("sha256").update('{"a":"\\u003c","b":1}').digest("hex"),
    );
    expect(h({ method: "PUT", url: "https://x/", body: { a: 1 }, raw_body: "raw" })).toBe(
      new Bun.CryptoHasher("sha256").update("raw").digest("hex"),
    );
  });
  test("errors", () => {
    expect(callErr("providers.aws.sign_req", [{}, cfg, TS])).toEqual({
      message: 'operand 1 missing required request parameters(s): {"method", "url"}',
      code: "eval_type_error",
    });
    expect(callErr("providers.aws.sign_req", [{ method: "GET", url: "https://x/", bogus: 1 }, cfg, TS]).message).toBe(
      'operand 1 invalid request parameters(s): {"bogus"}',
    );
    expect(callErr("providers.aws.sign_req", [{ method: 1, url: "https://x/" }, cfg, TS]).message).toBe(
      'operand 1 invalid values for required request parameters(s): {"method"}',
    );
    expect(callErr("providers.aws.sign_req", [{ method: "GET", url: "https://x/" }, { aws_service: "s3" }, TS]).message).toBe(
      'operand 2 missing required AWS config parameters(s): {"aws_access_key", "aws_region", "aws_secret_access_key"}',
    );
    expect(callErr("providers.aws.sign_req", [{ method: "GET", url: "https://x/" }, { ...cfg, aws_region: 1 }, TS]).message).toBe(
      'operand 2 invalid values for required AWS config parameters(s): {"aws_region"}',
    );
    expect(callErr("providers.aws.sign_req", [{ method: "GET", url: "https://x/" }, cfg, 1.5]).message).toBe(
      "operand 3 could not convert time_ns value into a unix timestamp",
    );
    expect(
      callErr("providers.aws.sign_req", [{ method: "GET", url: "https://x/" }, { ...cfg, disable_payload_signing: "yes" }, TS]).message,
    ).toBe("operand 2 invalid value for 'disable_payload_signing' in AWS config");
  });
});
