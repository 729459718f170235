/**
 * Go-`regexp`-compatible regular expressions on RE2 (linear time) via the `re2-wasm` package.
 *
 * Patterns in policies come from policy authors, so a backtracking engine (JS RegExp) is not an
 * option: RE2 guarantees linear-time matching. The wasm module is loaded lazily and synchronously
 * on first use. Its Emscripten glue reads `re2.wasm` from disk next to itself; inside the
 * compiled single binary that file does not exist, so the bytes are embedded with Bun's
 * `type: "file"` import and handed to the glue by intercepting that one `readFileSync` call.
 *
 * RE2 reports match positions in code points; everything here works on code-point arrays and
 * converts back to JS strings at the edges. Semantics follow Go's regexp package:
 * FindAllString / FindAllStringSubmatch (empty matches adjacent to a previous match are
 * skipped), ReplaceAllString with `$1` / `${name}` expansion, and Split(s, -1).
 */
import fs from "node:fs";
// @ts-expect-error -- Bun file import: a path string (embedded in the compiled binary)
import re2WasmPath from "re2-wasm/build/wasm/re2.wasm" with { type: "file" };

interface MatchResult {
  match: string;
  index: number;
  groups: (string | undefined)[];
}
interface WrappedRE2 {
  ok(): boolean;
  error(): string;
  match(input: string, start: number, groups: boolean): MatchResult;
  capturingGroupNames(): { keys(): { get(i: number): number; size(): number }; get(k: number): string };
}
interface RE2Module {
  WrappedRE2: new (pattern: string, ignoreCase: boolean, multiline: boolean, dotAll: boolean) => WrappedRE2;
}

let mod: RE2Module | undefined;

function loadModule(): RE2Module {
  if (mod) return mod;
  const bytes = fs.readFileSync(re2WasmPath as string);
  const orig = fs.readFileSync;
  const patched = function (this: unknown, p: unknown, ...rest: unknown[]) {
    if (typeof p === "string" && p.endsWith("re2.wasm")) return bytes;
    return (orig as (...a: unknown[]) => unknown).call(fs, p, ...rest);
  };
  (fs as unknown as { readFileSync: unknown }).readFileSync = patched;
  try {
    // a literal require() so `bun build --compile` bundles the Emscripten glue
    mod = require("re2-wasm/build/wasm/re2.js") as RE2Module;
  } finally {
    (fs as unknown as { readFileSync: unknown }).readFileSync = orig;
  }
  return mod;
}

/** Split a JS string into code points (strings, one per code point). */
export function codePoints(s: string): string[] {
  return Array.from(s);
}

export class GoRegexp {
  readonly numGroups: number;
  readonly groupNames: Map<string, number>;
  private constructor(
    readonly source: string,
    private readonly re: WrappedRE2,
  ) {
    const names = re.capturingGroupNames();
    const keys = names.keys();
    this.groupNames = new Map();
    for (let i = 0; i < keys.size(); i++) {
      const k = keys.get(i);
      this.groupNames.set(names.get(k), k);
    }
    // count capture groups: match against "" is not reliable (fails), so count from the pattern
    this.numGroups = countGroups(source);
  }

  /** Compile (cached). Throws Error with an RE2/Go-like message on a bad pattern. */
  static compile(pattern: string): GoRegexp {
    const hit = cache.get(pattern);
    if (hit) return hit;
    const m = loadModule();
    const w = new m.WrappedRE2(pattern, false, false, false);
    if (!w.ok()) throw new Error(goErrorMessage(pattern, w.error()));
    const re = new GoRegexp(pattern, w);
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
    cache.set(pattern, re);
    return re;
  }

  test(s: string): boolean {
    return this.re.match(s, 0, false).index >= 0;
  }

  /**
   * Go's allMatches: up to n matches (n < 0: all), each as [start, end, groups...] in code points;
   * groups are strings or undefined when the group did not participate.
   */
  findAll(s: string, n: number, withGroups: boolean): { start: number; end: number; text: string; groups: (string | undefined)[] }[] {
    const out: { start: number; end: number; text: string; groups: (string | undefined)[] }[] = [];
    if (n === 0) return out;
    const len = countCodePoints(s);
    let pos = 0;
    let prevEnd = -1;
    while (pos <= len && (n < 0 || out.length < n)) {
      const r = this.re.match(s, pos, withGroups);
      if (r.index < 0) break;
      const start = r.index;
      const end = start + countCodePoints(r.match);
      let accept = true;
      if (end === start) {
        if (start === prevEnd) accept = false;
        // an empty match: advance one code point past the match position
        pos = start + 1;
      } else {
        pos = end;
      }
      prevEnd = end;
      if (accept) {
        const groups: (string | undefined)[] = [];
        if (withGroups) for (let i = 0; i < this.numGroups; i++) groups.push(r.groups[i]);
        out.push({ start, end, text: r.match, groups });
      }
    }
    return out;
  }

  /** Go's ReplaceAllString (template expansion of $1, ${1}, $name, ${name}, $$). */
  replaceAll(s: string, template: string): string {
    const ms = this.findAll(s, -1, true);
    if (ms.length === 0) return s;
    const cps = codePoints(s);
    let out = "";
    let last = 0;
    for (const m of ms) {
      out += cps.slice(last, m.start).join("");
      out += this.expand(template, m.text, m.groups);
      last = m.end;
    }
    out += cps.slice(last).join("");
    return out;
  }

  /** Go's Split(s, -1). */
  split(s: string): string[] {
    if (this.source !== "" && s === "") return [""];
    const ms = this.findAll(s, -1, false);
    const cps = codePoints(s);
    const out: string[] = [];
    let beg = 0;
    let end = 0;
    for (const m of ms) {
      end = m.start;
      if (m.end !== 0) out.push(cps.slice(beg, end).join(""));
      beg = m.end;
    }
    if (end !== cps.length) out.push(cps.slice(beg).join(""));
    return out;
  }

  private expand(template: string, whole: string, groups: (string | undefined)[]): string {
    let out = "";
    let i = 0;
    while (i < template.length) {
      const j = template.indexOf("$", i);
      if (j < 0) {
        out += template.slice(i);
        break;
      }
      out += template.slice(i, j);
      i = j + 1;
      if (i < template.length && template[i] === "$") {
        out += "$";
        i++;
        continue;
      }
      let name: string | undefined;
      let rest = i;
      if (i < template.length && template[i] === "{") {
        const close = template.indexOf("}", i + 1);
        const cand = close < 0 ? "" : template.slice(i + 1, close);
        if (close >= 0 && /^[A-Za-z0-9_]+$/.test(cand)) {
          name = cand;
          rest = close + 1;
        }
      } else {
        const m = /^[A-Za-z0-9_]+/.exec(template.slice(i));
        if (m) {
          name = m[0];
          rest = i + m[0].length;
        }
      }
      if (name === undefined) {
        // malformed: Go copies the '$' literally
        out += "$";
        continue;
      }
      i = rest;
      if (/^[0-9]+$/.test(name)) {
        const k = Number.parseInt(name, 10);
        if (k === 0) out += whole;
        else if (k <= groups.length) out += groups[k - 1] ?? "";
      } else {
        const k = this.groupNames.get(name);
        if (k !== undefined) out += groups[k - 1] ?? "";
      }
    }
    return out;
  }
}

const CACHE_MAX = 1000;
const cache = new Map<string, GoRegexp>();

function countCodePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** Number of capturing groups in an RE2 pattern (parens not escaped, not in classes, not (?...) except named). */
function countGroups(p: string): number {
  let n = 0;
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === "\\") {
      if (p[i + 1] === "Q") {
        const e = p.indexOf("\\E", i + 2);
        i = e < 0 ? p.length : e + 1;
        continue;
      }
      i++;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      continue;
    }
    if (c === "[") {
      inClass = true;
      // a ']' right after '[' or '[^' is literal
      if (p[i + 1] === "^") i++;
      if (p[i + 1] === "]") i++;
      // POSIX classes like [[:alpha:]] are handled by skipping to the matching ':]'
      continue;
    }
    if (c === "(") {
      if (p[i + 1] !== "?") n++;
      else if (p.startsWith("(?P<", i) || (p.startsWith("(?<", i) && p[i + 3] !== "=" && p[i + 3] !== "!")) n++;
    }
  }
  return n;
}

/** Go's regexp error text for the common RE2 errors ("error parsing regexp: ..."). */
function goErrorMessage(pattern: string, re2Error: string): string {
  const m = /^(.*?): (.*)$/.exec(re2Error);
  const kind = m ? (m[1] as string) : re2Error;
  const arg = m ? (m[2] as string) : pattern;
  const goKind: Record<string, string> = {
    "missing ]": "missing closing ]",
    "missing )": "missing closing )",
    "unexpected )": "unexpected )",
    "bad repetition operator": "invalid nested repetition operator",
    "no argument for repetition operator": "missing argument to repetition operator",
    "invalid escape sequence": "invalid escape sequence",
    "invalid character class range": "invalid character class range",
    "invalid character class": "invalid character class",
    "invalid repetition size": "invalid repeat count",
    "invalid perl operator": "invalid or unsupported Perl syntax",
    "invalid named capture group": "invalid named capture",
    "trailing \\": "trailing backslash at end of expression",
  };
  const k = goKind[kind] ?? kind;
  return `error parsing regexp: ${k}: \`${arg}\``;
}

/** Go's regexp.QuoteMeta. */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}
