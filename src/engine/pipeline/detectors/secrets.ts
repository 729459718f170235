/**
 * detect_secrets: credentials in text (action: block).
 *
 * Three layers, from most to least specific:
 *  1. provider formats (secrets-rules.ts), each gated by a keyword pre-filter;
 *  2. structural shapes: credentials in URLs and connection strings, Authorization headers,
 *     `curl -u user:pass`;
 *  3. generic `secret-ish-name = value` assignments, kept precise by Shannon entropy,
 *     placeholder / stop-word allow-lists, and shape checks (a value must look random).
 */
import type { DetectOptions, Detector, Finding } from "./types.ts";
import { shannon } from "./normalize.ts";
import { RULES, type RuleOptions } from "./secrets-rules.ts";

const NAME = "detect_secrets";

interface Compiled {
  type: string;
  /** Keyword-bound rule: the match starts at the provider keyword, which must start a word. */
  kvBoundary: boolean;
  keywords: string[];
  re: RegExp;
  opts: RuleOptions;
}

const COMPILED: Compiled[] = RULES.map(([type, keywords, pattern, opts = {}]) => ({
  type,
  keywords: keywords.split(" ").filter(Boolean),
  re: new RegExp(pattern, `g${opts.flags ?? ""}`),
  kvBoundary: pattern.startsWith("(?:") && !pattern.startsWith("(?:^"),
  opts,
}));

/**
 * The keyword pre-filter as ONE pass: a trie of every rule keyword, walked from each position of
 * the lower-cased input, marks the rules whose keywords occur (what `lower.includes(k)` for each
 * keyword of each rule would say, without ~400 scans of the input).
 */
const TRIE_W = 95; // printable ASCII 0x20..0x7e
const trieNext: number[] = [];
const trieRules: (number[] | undefined)[] = [];
function trieNode(): number {
  const id = trieRules.length;
  trieRules.push(undefined);
  for (let k = 0; k < TRIE_W; k++) trieNext.push(0);
  return id;
}
trieNode();
COMPILED.forEach((r, ri) => {
  for (const k of r.keywords) {
    let node = 0;
    for (let i = 0; i < k.length; i++) {
      const c = k.charCodeAt(i) - 32;
      if (c < 0 || c >= TRIE_W) throw new Error(`secret rule keyword must be printable ASCII: ${k}`);
      let next = trieNext[node * TRIE_W + c] as number;
      if (next === 0) {
        next = trieNode();
        trieNext[node * TRIE_W + c] = next;
      }
      node = next;
    }
    ((trieRules[node] ??= []) as number[]).push(ri);
  }
});
const TRIE = Int32Array.from(trieNext);

/** Rules (indices into COMPILED) with a keyword in `lower`, ascending. */
function openRules(lower: string): Uint8Array {
  const open = new Uint8Array(COMPILED.length);
  const n = lower.length;
  for (let i = 0; i < n; i++) {
    let node = 0;
    for (let j = i; j < n; j++) {
      const c = lower.charCodeAt(j) - 32;
      if (c < 0 || c >= TRIE_W) break;
      node = TRIE[node * TRIE_W + c] as number;
      if (node === 0) break;
      const rs = trieRules[node];
      if (rs) for (const ri of rs) open[ri] = 1;
    }
  }
  return open;
}

/** Number of distinct credential types the detector knows (provider rules + structural). */
export const SECRET_TYPES: string[] = [
  ...new Set([...COMPILED.map((r) => r.type), "url_credentials", "db_connection_string", "authorization_header", "curl_auth_user", "curl_auth_header", "generic_secret", "password_assignment"]),
];

// ---------------------------------------------------------------------------------------------
// Allow-lists: placeholders, templates, and obviously fake values.

const PLACEHOLDER =
  /example|placeholder|dummy|sample|^your|[_-]your|yourkey|xxxx|\*{3}|•{3}|<[^>]{0,40}>|\$\{|\{\{|%\(|\[[a-z_ -]{2,30}\]|changeme|change_me|redacted|insert[_-]?|replace[_-]?me|^test$|^password$|^secret$|not[_-]?(?:a[_-]?)?real|fake|^null$|^none$|^true$|^false$|^undefined$|^(?:.)\1{5,}$|^(?:abc|123)+|0123456789|abcdefgh|qwerty|lorem|ipsum|foobar|\.\.\.|\.\.$|12345678|abc123|123abc|(\d{3,})[-_.]\1[-_.]\1/i;

const GENERIC_STOPWORDS = new Set([
  "password", "passwd", "secret", "token", "apikey", "api_key", "changeit", "changeme", "admin", "root", "default", "required",
  "optional", "string", "value", "values", "hidden", "masked", "enabled", "disabled", "public", "private", "process.env",
  "environ", "getenv", "config", "settings", "function", "return", "static", "final", "const", "readonly",
]);

function isPlaceholder(s: string): boolean {
  return PLACEHOLDER.test(s) || GENERIC_STOPWORDS.has(s.toLowerCase());
}

// ---------------------------------------------------------------------------------------------
// Structural rules

/** scheme://user:password@host — DB connection strings, brokers, and URLs with basic auth. */
const URL_CREDS =
  /\b((?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql|sqlserver|oracle|clickhouse|cockroachdb|couchdb|neo4j(?:\+s)?|bolt|jdbc:[a-z]{2,12}|ldaps?|ftps?|sftp|smtps?|imaps?|pop3s?|https?|ssh|git|nats|kafka|mqtts?|snowflake|db2|cassandra|elasticsearch|influxdb|memcached)):\/\/([^\s:@\/"'`<>]{1,80}):([^\s@\/"'`<>]{1,128})@([\w.-]{1,253})/gi;

/** ADO.NET / ODBC / JDBC property-style connection strings. */
const CONN_PROPS = /(?:^|[;"'\s])(?:password|pwd)\s{0,2}=\s{0,2}([^;"'\s]{4,128})(?=[;"'\s]|$)/gi;
const CONN_CONTEXT = /(?:server|data source|host|uid|user id|database|initial catalog|dsn)\s{0,2}=/i;

/** Authorization headers and API key headers. */
const AUTH_HEADER =
  /\b(?:authorization|proxy-authorization)["']?\s{0,3}[:=]\s{0,3}["']?(?:bearer|basic|token|digest|apikey|api-key|api-token|sso-key|key)\s{1,3}([A-Za-z0-9._~+/=-]{12,2048})/gi;
const KEY_HEADER = /\b(?:x-api-key|x-auth-token|api-key|api-token|x-access-token|private-token|x-goog-api-key|token)["']?\s{0,3}[:=]\s{0,3}["']?([A-Za-z0-9._~+/=-]{16,512})/gi;

/** curl -u / --user user:password */
const CURL_USER = /\bcurl\b(?:[^\n]|\\\r?\n){0,600}?\s(?:-u|--user)(?:\s{1,3}|=)(["']?)([^\s"'$:]{1,64}:(?:'[^\s']{1,128}'|[^\s"']{0,128})|:[^\s"']{1,128})\1/g;

// ---------------------------------------------------------------------------------------------
// Generic assignment: a secret-ish name bound to a random-looking value.

const GENERIC_KEYWORDS = ["key", "secret", "token", "pass", "pwd", "auth", "cred", "access", "api"];
const GENERIC =
  /(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]{0,40}?(?:api[_.-]?key|apikey|secret|token|passw(?:or)?d|passwd|pwd|auth[_.-]?key|access[_.-]?key|private[_.-]?key|client[_.-]?secret|credentials?|signing[_.-]?key|encryption[_.-]?key|master[_.-]?key|session[_.-]?key|auth)(?:[A-Za-z0-9_.-]{0,20}))["'`]?\s{0,3}(?:=|:=|:|=>|<-|\?\?=|\|\|=|,)\s{0,3}(?:[a-z]{1,6}\()?\s{0,2}(["'`]?)([A-Za-z0-9+/=_\-.~!@#%^&*?|:]{8,256})\2/gi;

const NAME_DENY = /(?:^|[_.-])(?:id|ids|name|names|type|types|url|uri|path|file|dir|endpoint|length|len|size|count|max|min|ttl|expir\w*|timeout|version|format|mode|enabled|field|header|prefix|suffix|hash|regex|pattern|label|example|hint|placeholder|param|params|policy|scope|scopes|method|algorithm|algo|kind|class|style|index|provider|store|input|output|usage|iterator|validator|resolver|manager|service|handler|factory|util|utils|helper|event|events|option|options|accessor|accessibility)$/i;

function looksRandom(v: string, passwordish: boolean): boolean {
  if (v.length < 8) return false;
  const h = shannon(v);
  const classes = Number(/[a-z]/.test(v)) + Number(/[A-Z]/.test(v)) + Number(/\d/.test(v)) + Number(/[^A-Za-z0-9]/.test(v));
  if (/^[a-z]+(?:[_.-][a-z]+)*$/i.test(v)) return false; // words / identifiers
  if (/^\d+(?:\.\d+)*$/.test(v)) return false; // numbers, versions
  if (/^[A-Za-z]+(?:[A-Z][a-z]+)+\d?$/.test(v)) return false; // camelCase identifiers
  if (/^[a-z]+(?:\.[a-z]+){1,}\(?/i.test(v)) return false; // dotted references (os.environ, this.x)
  if (/^(?:https?|file|s3|gs):/.test(v) || /^[./~]/.test(v)) return false; // URLs and paths
  if (/\d{4}[-_]\d{2}[-_]\d{2}|SNAPSHOT|RELEASE|^v?\d+\.\d+/.test(v)) return false; // versions, dates
  if (/^[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}\.[a-z]{2,12}$/i.test(v) && !/\d{5,}/.test(v.slice(-8))) return false; // host names
  if (passwordish) return v.length >= 8 && classes >= 3 && h >= 2.8;
  if (/^[0-9a-f]{32,}$/i.test(v) || /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v)) return h >= 3;
  return v.length >= 16 ? h >= 3.5 && classes >= 2 : h >= 3.2 && classes >= 3;
}

// ---------------------------------------------------------------------------------------------

/** "camera_kit" must not read as "meraki": a keyword starts after a non-letter or a camelCase hump. */
function keywordBoundary(text: string, i: number): boolean {
  if (i === 0) return true;
  const prev = text.charCodeAt(i - 1);
  const isLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  if (!isLetter(prev)) return true;
  const cur = text.charCodeAt(i);
  return prev >= 97 && prev <= 122 && cur >= 65 && cur <= 90;
}

function push(out: Finding[], type: string, start: number, end: number, score: number) {
  out.push({ detector: NAME, type, start, end, score });
}

function groupSpan(m: RegExpExecArray, group: number): { start: number; end: number; value: string } {
  const value = m[group] ?? m[0];
  if (group === 0 || m[group] === undefined) return { start: m.index, end: m.index + m[0].length, value: m[0] };
  // Position of the group: the last occurrence of the group text inside the match.
  const off = m[0].lastIndexOf(value);
  const start = m.index + (off < 0 ? 0 : off);
  return { start, end: start + value.length, value };
}

function detectSecrets(text: string, opts: DetectOptions = {}): Finding[] {
  const out: Finding[] = [];
  if (text.length < 8) return out;
  const lower = text.toLowerCase();

  // 1. Provider rules behind the keyword pre-filter.
  const open = openRules(lower);
  for (let ri = 0; ri < COMPILED.length; ri++) {
    if (open[ri] === 0) continue;
    const r = COMPILED[ri] as Compiled;
    r.re.lastIndex = 0;
    let guard = 0;
    for (let m = r.re.exec(text); m !== null && guard < 1000; m = r.re.exec(text), guard++) {
      if (m[0].length === 0) r.re.lastIndex++;
      const g = groupSpan(m, 1);
      if (r.opts.entropy !== undefined && shannon(g.value) < r.opts.entropy) continue;
      if (isPlaceholder(g.value)) continue;
      if (r.opts.check && !r.opts.check(g.value, m)) continue;
      if (r.kvBoundary && !keywordBoundary(text, m.index)) continue;
      push(out, r.type, g.start, g.end, r.opts.score ?? 0.9);
    }
  }

  // 2. Structural shapes.
  if (lower.includes("://")) {
    URL_CREDS.lastIndex = 0;
    for (let m = URL_CREDS.exec(text); m !== null; m = URL_CREDS.exec(text)) {
      const scheme = (m[1] as string).toLowerCase();
      const user = m[2] as string;
      const pass = m[3] as string;
      if (isPlaceholder(pass) || isPlaceholder(user) || /^[$%{]|^\*+$|^x+$/i.test(pass) || pass.length < 3) continue;
      const passStart = m.index + m[0].lastIndexOf(`:${pass}@`) + 1;
      const db = !/^(?:https?|ftps?|git|ssh)$/.test(scheme);
      if (!db && shannon(pass) < 2.5 && pass.length < 10) continue;
      push(out, db ? "db_connection_string" : "url_credentials", passStart, passStart + pass.length, db ? 0.9 : 0.8);
    }
  }
  if (lower.includes("password") || lower.includes("pwd")) {
    CONN_PROPS.lastIndex = 0;
    for (let m = CONN_PROPS.exec(text); m !== null; m = CONN_PROPS.exec(text)) {
      const ctx = text.slice(Math.max(0, m.index - 300), m.index + m[0].length + 300);
      const v = m[1] as string;
      if (!CONN_CONTEXT.test(ctx) || !ctx.includes(";") || isPlaceholder(v)) continue;
      const g = groupSpan(m, 1);
      push(out, "db_connection_string", g.start, g.end, 0.85);
    }
  }
  if (lower.includes("authorization") || lower.includes("api-key") || lower.includes("token")) {
    for (const [re, type] of [
      [AUTH_HEADER, lower.includes("curl") ? "curl_auth_header" : "authorization_header"],
      [KEY_HEADER, lower.includes("curl") ? "curl_auth_header" : "authorization_header"],
    ] as const) {
      re.lastIndex = 0;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        const g = groupSpan(m, 1);
        if (isPlaceholder(g.value) || /^\$|^%|^<|^\{/.test(g.value) || shannon(g.value) < 3) continue;
        push(out, type, g.start, g.end, 0.85);
      }
    }
  }
  if (lower.includes("curl")) {
    CURL_USER.lastIndex = 0;
    for (let m = CURL_USER.exec(text); m !== null; m = CURL_USER.exec(text)) {
      const cred = m[2] as string;
      const [user = "", pass = ""] = [cred.slice(0, cred.indexOf(":")), cred.slice(cred.indexOf(":") + 1)];
      if (/^[$<\[{%]/.test(pass) || /^[$<\[{%]/.test(user)) continue;
      const secret = (pass.length > 0 ? pass : user).replace(/^'|'$/g, "");
      if (isPlaceholder(secret) || secret.length < 6 || (pass.length > 0 && secret === user) || /^(?:pass(?:word)?|token|secret|test)$/i.test(secret)) continue;
      if (shannon(secret) < 2.5) continue;
      const start = m.index + m[0].lastIndexOf(cred);
      push(out, "curl_auth_user", start, start + cred.length, 0.85);
    }
  }

  // 3. Generic assignments (skipped when a specific rule already covers the span).
  let maybe = false;
  for (const k of GENERIC_KEYWORDS) {
    if (lower.includes(k)) {
      maybe = true;
      break;
    }
  }
  if (maybe) {
    GENERIC.lastIndex = 0;
    let guard = 0;
    for (let m = GENERIC.exec(text); m !== null && guard < 2000; m = GENERIC.exec(text), guard++) {
      const name = m[1] as string;
      const value = m[3] as string;
      if (NAME_DENY.test(name) || /(?:Id|Ids|Name|Type|Url|Uri|Path|Source|Variable|Ref)$/.test(name)) continue;
      const passwordish = /pass|pwd/i.test(name);
      if (isPlaceholder(value) || !looksRandom(value, passwordish)) continue;
      const start = m.index + m[0].lastIndexOf(value);
      const end = start + value.length;
      if (out.some((f) => f.start < end && start < f.end)) continue;
      const h = shannon(value);
      const score = passwordish ? 0.7 : Math.min(0.85, 0.5 + (h - 3) * 0.2);
      push(out, passwordish ? "password_assignment" : "generic_secret", start, end, Number(score.toFixed(2)));
    }
  }

  return finish(out, opts.threshold ?? 0.5);
}

/** Drop findings under the threshold and overlapping duplicates (keep the higher score). */
function finish(out: Finding[], threshold: number): Finding[] {
  const kept = out.filter((f) => f.score >= threshold).sort((a, b) => a.start - b.start || b.score - a.score || b.end - a.end);
  const res: Finding[] = [];
  for (const f of kept) {
    const prev = res[res.length - 1];
    if (prev && f.start < prev.end) {
      if (f.score > prev.score) res[res.length - 1] = f;
      continue;
    }
    res.push(f);
  }
  return res;
}

export const secretsDetector: Detector = { name: NAME, action: "block", detect: detectSecrets };
