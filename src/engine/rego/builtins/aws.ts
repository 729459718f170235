/**
 * providers.aws.sign_req: AWS Signature Version 4 request signing, as OPA implements it
 * (topdown/providers.go + internal/providers/aws SignV4).
 *
 *   providers.aws.sign_req(request, aws_config, time_ns) -> request with signed headers
 *
 * The result is the request object with `headers` replaced by: the request's own headers
 * (non-string keys/values become ""), `Authorization`, and the AWS headers (host, x-amz-date,
 * x-amz-content-sha256 for s3/glacier, x-amz-security-token when a session token is given).
 */
import crypto from "node:crypto";
import { BigNum, isInteger, isNumber, RObject, RSet, toBigInt, toRegoString, type Value } from "../value.ts";
import { jsonText } from "./ext_util.ts";
import { type BuiltinDef, BuiltinError, typeErr } from "./registry.ts";

const REQUIRED_CONFIG = ["aws_access_key", "aws_region", "aws_secret_access_key", "aws_service"];
const REQUIRED_REQUEST = ["method", "url"];
/** http.send's accepted request keys (sign_req validates the request the same way). */
const ALLOWED_REQUEST = new Set([
  "method",
  "url",
  "body",
  "enable_redirect",
  "force_json_decode",
  "force_yaml_decode",
  "headers",
  "raw_body",
  "tls_use_system_certs",
  "tls_ca_cert",
  "tls_ca_cert_file",
  "tls_ca_cert_env_variable",
  "tls_client_cert",
  "tls_client_cert_file",
  "tls_client_cert_env_variable",
  "tls_client_key",
  "tls_client_key_file",
  "tls_client_key_env_variable",
  "tls_insecure_skip_verify",
  "tls_server_name",
  "timeout",
  "cache",
  "force_cache",
  "force_cache_duration_seconds",
  "raise_error",
  "caching_mode",
  "max_retry_attempts",
  "cache_ignored_headers",
]);
/** Headers a proxy may mutate: never part of the canonical request. */
const IGNORED_HEADERS = new Set(["authorization", "user-agent", "x-amzn-trace-id"]);
const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";

const operandErr = (pos: number, msg: string) => new BuiltinError(`operand ${pos} ${msg}`, "eval_type_error");
const setText = (items: Value[]) => toRegoString(RSet.from(items));
const str = (v: Value | undefined): string => (typeof v === "string" ? v : "");

const sha256Hex = (data: string | Uint8Array) => crypto.createHash("sha256").update(data).digest("hex");
const hmac = (key: Uint8Array | string, msg: string) => crypto.createHmac("sha256", key).update(msg, "utf8").digest();

// ---- Go net/url subset: Host, EscapedPath, RawQuery ---------------------------------------------

const HEX = "0123456789ABCDEF";

/** Go url.shouldEscape(c, encodePath). */
function shouldEscapePath(c: number): boolean {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return false;
  switch (String.fromCharCode(c)) {
    case "-":
    case "_":
    case ".":
    case "~":
      return false;
    case "$":
    case "&":
    case "+":
    case ",":
    case "/":
    case ":":
    case ";":
    case "=":
    case "@":
      return false;
    case "?":
      return true;
  }
  return true;
}

function escapePath(bytes: Uint8Array): string {
  let out = "";
  for (const c of bytes) out += shouldEscapePath(c) ? `%${HEX[c >> 4]}${HEX[c & 15]}` : String.fromCharCode(c);
  return out;
}

/** Go url.validEncoded(s, encodePath). */
function validEncodedPath(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] as string;
    if ("!$&'()*+,;=:@[]%".includes(ch)) continue;
    const c = s.charCodeAt(i);
    if (c > 0x7f || shouldEscapePath(c)) return false;
  }
  return true;
}

/** Percent-decode a path (Go unescape, encodePath mode). */
function unescapePath(s: string, whole: string): Uint8Array {
  const out: number[] = [];
  const raw = new TextEncoder().encode(s);
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as number;
    if (c === 0x25) {
      const h = String.fromCharCode(raw[i + 1] ?? 0, raw[i + 2] ?? 0);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) {
        const bad = new TextDecoder().decode(raw.subarray(i, Math.min(i + 3, raw.length)));
        throw new BuiltinError(`parse ${JSON.stringify(whole)}: invalid URL escape ${JSON.stringify(bad)}`);
      }
      out.push(parseInt(h, 16));
      i += 2;
    } else out.push(c);
  }
  return Uint8Array.from(out);
}

interface ParsedURL {
  host: string;
  escapedPath: string;
  rawQuery: string;
}

function parseURL(u: string): ParsedURL {
  let rest = u;
  const hash = rest.indexOf("#");
  if (hash >= 0) rest = rest.slice(0, hash);
  let rawQuery = "";
  const q = rest.indexOf("?");
  if (q >= 0) {
    rawQuery = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:/.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length);
  else if (/^[^/]*:/.test(rest)) throw new BuiltinError(`parse ${JSON.stringify(u)}: first path segment in URL cannot contain colon`);
  let host = "";
  if (rest.startsWith("//")) {
    rest = rest.slice(2);
    const slash = rest.indexOf("/");
    let authority = slash >= 0 ? rest.slice(0, slash) : rest;
    rest = slash >= 0 ? rest.slice(slash) : "";
    const at = authority.lastIndexOf("@");
    if (at >= 0) authority = authority.slice(at + 1);
    host = authority;
  }
  const path = unescapePath(rest, u);
  const escapedPath = validEncodedPath(rest) ? rest : escapePath(path);
  return { host, escapedPath, rawQuery };
}

// ---- time formatting -----------------------------------------------------------------------------

function amzTimes(ns: bigint): { date: string; iso: string } {
  const ms = ns / 1_000_000n - (ns % 1_000_000n < 0n ? 1n : 0n);
  const d = new Date(Number(ms));
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const date = `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}`;
  return { date, iso: `${date}T${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z` };
}

// ---- signing ---------------------------------------------------------------------------------------

export interface SigV4Input {
  method: string;
  url: string;
  /** Request headers (name → value), names as given. */
  headers: [string, string][];
  body: string | Uint8Array;
  service: string;
  region: string;
  accessKey: string;
  secretKey: string;
  sessionToken?: string;
  timeNs: bigint;
  disablePayloadSigning?: boolean;
}

/** OPA's SignV4: the Authorization header and the AWS headers it adds. */
export function signV4(inp: SigV4Input): { authorization: string; awsHeaders: [string, string][] } {
  const url = parseURL(inp.url);
  const { date, iso } = amzTimes(inp.timeNs);
  const contentSha = inp.disablePayloadSigning ? UNSIGNED_PAYLOAD : sha256Hex(inp.body);

  const awsHeaders: [string, string][] = [
    ["host", url.host],
    ["x-amz-date", iso],
  ];
  if (inp.service === "s3" || inp.service === "glacier") awsHeaders.push(["x-amz-content-sha256", contentSha]);
  if (inp.sessionToken) awsHeaders.push(["x-amz-security-token", inp.sessionToken]);

  const toSign = new Map<string, string>(awsHeaders);
  for (const [k, v] of inp.headers) {
    const lk = k.toLowerCase();
    if (!IGNORED_HEADERS.has(lk)) toSign.set(lk, v);
  }
  const keys = [...toSign.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const signedHeaders = keys.join(";");

  let canonical = `${inp.method}\n${url.escapedPath}\n${url.rawQuery}\n`;
  for (const k of keys) canonical += `${k}:${toSign.get(k)}\n`;
  canonical += `\n${signedHeaders}\n${contentSha}`;

  const scope = `${date}/${inp.region}/${inp.service}/aws4_request`;
  const stringToSign = `AWS4-HMAC-SHA256\n${iso}\n${scope}\n${sha256Hex(canonical)}`;

  let key = hmac(`AWS4${inp.secretKey}`, date);
  key = hmac(key, inp.region);
  key = hmac(key, inp.service);
  key = hmac(key, "aws4_request");
  const signature = hmac(key, stringToSign).toString("hex");

  const authorization = `AWS4-HMAC-SHA256 Credential=${inp.accessKey}/${scope},SignedHeaders=${signedHeaders},Signature=${signature}`;
  return { authorization, awsHeaders };
}

// ---- the builtin -----------------------------------------------------------------------------------

const INT64_MAX = (1n << 63n) - 1n;

function signReq(args: Value[]): Value {
  const [req, config, ts] = args as [Value, Value, Value];
  // OPA reports both object operands as "operand 1".
  if (!(req instanceof RObject)) throw typeErr(1, "object", req);
  if (!(config instanceof RObject)) throw typeErr(1, "object", config);

  const missingCfg = REQUIRED_CONFIG.filter((k) => !config.has(k));
  if (missingCfg.length) throw operandErr(2, `missing required AWS config parameters(s): ${setText(missingCfg)}`);
  const invalidCfg = REQUIRED_CONFIG.filter((k) => typeof config.getStr(k) !== "string");
  if (invalidCfg.length) throw operandErr(2, `invalid values for required AWS config parameters(s): ${setText(invalidCfg)}`);

  if (!isNumber(ts)) throw typeErr(1, "number", ts);
  // OPA needs an int64 here. Literal text is not kept, so exponent forms such as -1e9 (which OPA
  // rejects) are indistinguishable from plain integers; pre-epoch times are refused as well.
  let ns: bigint | undefined;
  if (isInteger(ts) && !(ts instanceof BigNum && !ts.isInt)) ns = toBigInt(ts);
  if (ns === undefined || ns < 0n || ns > INT64_MAX) throw operandErr(3, "could not convert time_ns value into a unix timestamp");

  const keys = req.keys();
  const invalidKeys = keys.filter((k) => typeof k !== "string" || !ALLOWED_REQUEST.has(k));
  if (invalidKeys.length) throw operandErr(1, `invalid request parameters(s): ${setText(invalidKeys)}`);
  const missingReq = REQUIRED_REQUEST.filter((k) => !req.has(k));
  if (missingReq.length) throw operandErr(1, `missing required request parameters(s): ${setText(missingReq)}`);

  let headers = new RObject();
  const h = req.getStr("headers");
  if (h !== undefined) {
    if (!(h instanceof RObject)) throw typeErr(0, "object", h);
    headers = h;
  }
  const url = req.getStr("url");
  const method = req.getStr("method");
  const invalidReq: string[] = [];
  if (typeof url !== "string") invalidReq.push("url");
  if (typeof method !== "string") invalidReq.push("method");
  if (invalidReq.length) throw operandErr(1, `invalid values for required request parameters(s): ${setText(invalidReq)}`);

  const rawBody = req.getStr("raw_body");
  const body = req.getStr("body");
  const bodyText = rawBody !== undefined ? str(rawBody) : body !== undefined ? jsonText(body) : "";

  let disablePayloadSigning = false;
  const dps = config.getStr("disable_payload_signing");
  if (dps !== undefined) {
    if (typeof dps !== "boolean") throw operandErr(2, "invalid value for 'disable_payload_signing' in AWS config");
    disablePayloadSigning = dps;
  }

  const reqHeaders = new Map<string, string>();
  for (const [k, v] of headers.entries()) reqHeaders.set(str(k), str(v));

  const { authorization, awsHeaders } = signV4({
    method: method as string,
    url: url as string,
    headers: [...reqHeaders],
    body: new TextEncoder().encode(bodyText),
    service: str(config.getStr("aws_service")),
    region: str(config.getStr("aws_region")),
    accessKey: str(config.getStr("aws_access_key")),
    secretKey: str(config.getStr("aws_secret_access_key")),
    sessionToken: str(config.getStr("aws_session_token")),
    timeNs: ns,
    disablePayloadSigning,
  });

  const signed = new RObject();
  for (const [k, v] of reqHeaders) signed.set(k, v);
  signed.set("Authorization", authorization);
  for (const [k, v] of awsHeaders) signed.set(k, v);
  return req.clone().set("headers", signed);
}

export const builtins: BuiltinDef[] = [{ name: "providers.aws.sign_req", arity: 3, fn: signReq, result: "object" }];
