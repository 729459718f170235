/**
 * Text normalisation for injection / jailbreak detection.
 *
 * Attackers hide instructions from keyword rules with look-alike letters (Cyrillic "о" for
 * Latin "o"), fullwidth forms, zero-width joiners, Unicode tag characters ("ASCII smuggling"),
 * leetspeak ("1gn0r3"), spaced letters ("i g n o r e"), and encodings (base64, hex, rot13).
 * `normalize` folds all of that into lower-case plain text and keeps, for every character of the
 * result, the offset of the ORIGINAL character it came from, so findings point into the input.
 * `views` adds decoded copies of suspicious encoded spans; a finding inside a decoded view is
 * reported on the whole encoded span.
 */

export interface View {
  /** Normalised text (lower-case, folded). */
  text: string;
  /** map[i] = offset in the original text of normalised char i; map[text.length] = end. */
  map: Int32Array;
  /** plain: the input itself; others: a decoded span (offsets then cover that span only). */
  kind: "plain" | "base64" | "hex" | "rot13" | "tags";
  /** For decoded views: the span of the encoded text in the original input. */
  start: number;
  end: number;
  /** True when normalisation had to undo an obfuscation (confusables, zero-width, tags, leet). */
  obfuscated: boolean;
}

/** Cyrillic / Greek / other look-alikes of Latin letters (lower-case targets). */
const CONFUSABLES: Record<string, string> = {
  // Cyrillic
  а: "a", в: "b", е: "e", ё: "e", к: "k", м: "m", н: "h", о: "o", р: "p", с: "c", т: "t", у: "y", х: "x",
  ѕ: "s", і: "i", ї: "i", ј: "j", ԁ: "d", ԛ: "q", ԝ: "w", һ: "h", ӏ: "l", ɡ: "g", ո: "n", ս: "u",
  А: "a", В: "b", Е: "e", Ё: "e", К: "k", М: "m", Н: "h", О: "o", Р: "p", С: "c", Т: "t", У: "y", Х: "x",
  Ѕ: "s", І: "i", Ї: "i", Ј: "j", Ԁ: "d", Ԛ: "q", Ԝ: "w", Һ: "h", Ӏ: "l",
  // Greek
  α: "a", β: "b", ε: "e", η: "n", ι: "i", κ: "k", ν: "v", ο: "o", ρ: "p", τ: "t", υ: "u", χ: "x", ω: "w",
  Α: "a", Β: "b", Ε: "e", Ζ: "z", Η: "h", Ι: "i", Κ: "k", Μ: "m", Ν: "n", Ο: "o", Ρ: "p", Τ: "t", Υ: "y", Χ: "x",
  // Latin extensions and symbols that NFKC keeps
  ı: "i", ȷ: "j", ł: "l", ø: "o", đ: "d", ħ: "h", ŧ: "t", ƅ: "b", ɑ: "a", ɩ: "i", ʀ: "r", ʏ: "y", ᴀ: "a",
  ᴄ: "c", ᴅ: "d", ᴇ: "e", ᴊ: "j", ᴋ: "k", ᴍ: "m", ᴏ: "o", ᴘ: "p", ᴛ: "t", ᴜ: "u", ᴠ: "v", ᴡ: "w", ᴢ: "z",
};

/** Typographic punctuation folded to ASCII so "don’t" matches "don't". */
const PUNCT: Record<string, string> = {
  "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
  "\u00ab": '"', "\u00bb": '"', "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00a0": " ", "\u2026": "...",
};

/** Leetspeak digits and symbols, folded only inside tokens that also hold letters. */
const LEET: Record<string, string> = { "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", $: "s" };

const NON_ASCII = /[^\x00-\x7f]/;

/** Letters of ordinary scripts that NFKC leaves alone (skip the costly call for them). */
function plainScript(cp: number): boolean {
  return (
    (cp >= 0xc0 && cp <= 0x24f) || (cp >= 0x370 && cp <= 0x52f) || (cp >= 0x590 && cp <= 0x6ff) || (cp >= 0x900 && cp <= 0x97f) ||
    (cp >= 0x3040 && cp <= 0x30ff) || (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0xac00 && cp <= 0xd7af)
  );
}

function isZeroWidth(cp: number): boolean {
  return (
    (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2060 && cp <= 0x2064) || cp === 0xfeff || cp === 0x00ad || cp === 0x180e ||
    cp === 0x034f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || (cp >= 0xfe00 && cp <= 0xfe0f)
  );
}

class Builder {
  /** Output chunks (joined at the end); map has one origin per output UTF-16 unit. */
  out: string[] = [];
  map: Int32Array;
  n = 0;
  constructor(size: number) {
    this.map = new Int32Array(size + 16);
  }
  private grow(extra: number) {
    if (this.n + extra + 1 <= this.map.length) return;
    const next = new Int32Array((this.map.length + extra) * 2);
    next.set(this.map);
    this.map = next;
  }
  push(s: string, origin: number) {
    this.out.push(s);
    this.grow(s.length);
    for (let k = 0; k < s.length; k++) this.map[this.n++] = origin;
  }
  /** Copy a run of ASCII: origins are consecutive. */
  run(s: string, origin: number) {
    this.out.push(s);
    this.grow(s.length);
    for (let k = 0; k < s.length; k++) this.map[this.n++] = origin + k;
  }
}

/** Fold one string into a normalised view (lower-case, NFKC, confusables, invisible chars dropped). */
export function normalize(input: string, base = 0): View {
  let obfuscated = false;
  const b = new Builder(input.length);
  if (!NON_ASCII.test(input)) {
    b.run(input.toLowerCase(), base);
  } else {
    // ASCII runs are copied in bulk; only non-ASCII characters take the slow path.
    // A look-alike is folded only inside a word that also holds ASCII letters, or whose letters
    // are all look-alikes ("реасе"): genuine Cyrillic / Greek words stay intact.
    const foldAll = false;
    const nonAscii = /[^\x00-\x7f]/g;
    let i = 0;
    while (i < input.length) {
      nonAscii.lastIndex = i;
      const m = nonAscii.exec(input);
      const j = m ? m.index : input.length;
      if (j > i) {
        b.run(input.slice(i, j).toLowerCase(), base + i);
      }
      if (!m) break;
      i = j;
      const cp = input.codePointAt(i) as number;
      const width = cp > 0xffff ? 2 : 1;
      const origin = base + i;
      i += width;
      if (cp >= 0x3040 && cp <= 0x9fff ? cp <= 0x30ff || cp >= 0x4e00 : cp >= 0xac00 && cp <= 0xd7af) {
        // Kana / CJK ideographs / Hangul: no case, no look-alikes, NFKC-stable. Copy the run.
        let k = i;
        for (; k < input.length; k++) {
          const c = input.charCodeAt(k);
          if (!(c >= 0x3040 && c <= 0x9fff ? c <= 0x30ff || c >= 0x4e00 : c >= 0xac00 && c <= 0xd7af)) break;
        }
        b.run(input.slice(j, k), origin);
        i = k;
        continue;
      }
      if (isZeroWidth(cp)) {
        obfuscated = true;
        continue;
      }
      if (cp >= 0xe0000 && cp <= 0xe007f) {
        // Unicode tag characters: invisible, but a model reads them as ASCII. Decode.
        obfuscated = true;
        if (cp >= 0xe0020 && cp <= 0xe007e) b.push(String.fromCharCode(cp - 0xe0000).toLowerCase(), origin);
        continue;
      }
      const ch = String.fromCodePoint(cp);
      const punct = PUNCT[ch];
      if (punct !== undefined) {
        b.push(punct, origin);
        continue;
      }
      let folded = CONFUSABLES[ch];
      if (folded !== undefined && !foldAll && !mixedToken(input, j)) folded = undefined;
      if (folded === undefined) {
        const nf = plainScript(cp) ? ch : ch.normalize("NFKC");
        folded = nf === ch ? ch.toLowerCase() : nf.toLowerCase();
        const again = folded.length === 1 ? CONFUSABLES[folded] : undefined;
        if (again !== undefined && mixedToken(input, j)) folded = again;
        if (nf !== ch && /[\x21-\x7e]/.test(folded)) obfuscated = true;
      } else obfuscated = true;
      b.push(folded, origin);
    }
  }
  let text = b.out.join("");
  b.map[b.n] = base + input.length;
  let map: ArrayLike<number> = b.map.subarray(0, b.n + 1);
  // Leetspeak and spaced-out letters, only where they plausibly hide words.
  const leet = foldLeet(text, map);
  if (leet) {
    text = leet.text;
    map = leet.map;
    obfuscated = true;
  }
  const spaced = joinSpacedLetters(text, map);
  if (spaced) {
    text = spaced.text;
    map = spaced.map;
    obfuscated = true;
  }
  return { text, map: map instanceof Int32Array ? map : Int32Array.from(map), kind: "plain", start: base, end: base + input.length, obfuscated };
}

/** True when the word around position i mixes scripts, or is made only of look-alikes. */
function mixedToken(s: string, i: number): boolean {
  let a = i;
  while (a > 0 && i - a < 40 && /[\p{L}\p{M}]/u.test(s[a - 1] as string)) a--;
  let z = i;
  while (z < s.length && z - i < 40 && /[\p{L}\p{M}]/u.test(s[z] as string)) z++;
  const word = s.slice(a, z);
  if (/[A-Za-z]/.test(word)) return true;
  for (const ch of word) if (CONFUSABLES[ch] === undefined) return false;
  return word.length >= 2;
}


function foldLeet(text: string, map: ArrayLike<number>): { text: string; map: ArrayLike<number> } | null {
  if (!/[a-z][0-9@$]|[0-9@$][a-z]/.test(text)) return null;
  let edits: number[] | null = null;
  // The tokens /[a-z0-9@$]{3,40}/g would find (runs of [a-z0-9@$] cut in chunks of 40, chunks of 3+),
  // looked at only in runs that mix letters with digits or @ / $ (others hold no leet word).
  const n = text.length;
  let i = 0;
  while (i < n) {
    let c = text.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 64 || c === 36)) {
      i++;
      continue;
    }
    const runStart = i;
    let hasLetter = false;
    let hasOther = false;
    while (i < n && ((c = text.charCodeAt(i)) >= 97 && c <= 122 ? (hasLetter = true) : (c >= 48 && c <= 57) || c === 64 || c === 36 ? (hasOther = true) : false)) i++;
    if (!hasLetter || !hasOther) continue;
    for (let at = runStart; i - at >= 3; at += 40) edits = leetToken(text.slice(at, Math.min(at + 40, i)), at, edits);
  }
  if (!edits) return null;
  // One char replaced per edit; the map is unchanged.
  let out = "";
  let last = 0;
  for (const at of edits) {
    out += text.slice(last, at) + (LEET[text[at] as string] as string);
    last = at + 1;
  }
  return { text: out + text.slice(last), map };
}

function leetToken(tok: string, index: number, edits: number[] | null): number[] | null {
  {
    let letters = 0;
    let leet = 0;
    for (const c of tok) {
      if (c >= "a" && c <= "z") letters++;
      else if (LEET[c] !== undefined) leet++;
    }
    // A word with letters and a few leet symbols ("1gn0r3", "pr0mpt"); not hex, not versions.
    if (letters < 2 || leet === 0 || leet > letters + 1) return edits;
    if (/^[0-9a-f]+$/.test(tok) && tok.length >= 8) return edits;
    if (/^[a-z]+[0-9]{2,}$/.test(tok)) return edits; // identifiers like "python39", "windows10"
    for (let k = 0; k < tok.length; k++) if (LEET[tok[k] as string] !== undefined) (edits ??= []).push(index + k);
  }
  return edits;
}

/** "i g n o r e" / "i.g.n.o.r.e" -> "ignore" for runs of 4+ single letters. */
const SPACED = /(?<![a-z])[a-z](?:[ .\-_*][a-z]){3,60}(?![a-z])/g;

function joinSpacedLetters(text: string, map: ArrayLike<number>): { text: string; map: ArrayLike<number> } | null {
  SPACED.lastIndex = 0;
  if (!SPACED.test(text)) return null;
  SPACED.lastIndex = 0;
  // Unchanged stretches are copied as slices; the map is filled in one typed array.
  const parts: string[] = [];
  const outMap = new Int32Array(text.length + 1);
  let n = 0;
  let last = 0;
  for (let m = SPACED.exec(text); m !== null; m = SPACED.exec(text)) {
    // Keep ordinary sequences like "a b c d" only when it spells 5+ letters.
    if (m[0].length < 9) continue;
    parts.push(text.slice(last, m.index));
    for (let k = last; k < m.index; k++) outMap[n++] = map[k] as number;
    for (let k = 0; k < m[0].length; k += 2) {
      parts.push(m[0][k] as string);
      outMap[n++] = map[m.index + k] as number;
    }
    last = m.index + m[0].length;
  }
  if (last === 0) return null;
  parts.push(text.slice(last));
  for (let k = last; k < text.length; k++) outMap[n++] = map[k] as number;
  outMap[n++] = map[text.length] as number;
  return { text: parts.join(""), map: outMap.subarray(0, n) };
}

// ---------------------------------------------------------------------------------------------
// Decoded views

const B64_SPAN = /(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{20,8192}={0,2}(?![A-Za-z0-9+/=_-])/g;
const HEX_SPAN = /(?<![0-9A-Fa-f])(?:(?:\\x|0x)?[0-9A-Fa-f]{2}[ :]?){12,4096}(?![0-9A-Fa-f])/g;
const BIN_SPAN = /(?<![01])(?:[01]{8}\s?){8,4096}(?![01])/g;
const ROT13_HINT = /rot[\s_-]?13|caesar|decode|decipher|unscramble|cipher/i;

function printableRatio(s: string): number {
  if (s.length === 0) return 0;
  let ok = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 32 && c < 127) || c === 10 || c === 13 || c === 9) ok++;
  }
  return ok / s.length;
}

function looksLikeWords(s: string): boolean {
  return printableRatio(s) > 0.95 && /[a-zA-Z]{3,}[^a-zA-Z]+[a-zA-Z]{2,}/.test(s) && (s.match(/ /g)?.length ?? 0) >= 2;
}

export function decodeBase64(s: string): string | null {
  try {
    const std = s.replace(/-/g, "+").replace(/_/g, "/");
    const padded = std + "===".slice((std.length + 3) % 4);
    return Buffer.from(padded, "base64").toString("latin1");
  } catch {
    return null;
  }
}

export function rot13(s: string): string {
  return s.replace(/[a-zA-Z]/g, (c) => {
    const b = c <= "Z" ? 65 : 97;
    return String.fromCharCode(((c.charCodeAt(0) - b + 13) % 26) + b);
  });
}

/** A decoded view: its text carries the whole encoded span as the origin of every char. */
function spanView(decoded: string, start: number, end: number, kind: View["kind"]): View {
  const v = normalize(decoded);
  const map = new Int32Array(v.text.length + 1).fill(start);
  map[v.text.length] = end;
  return { text: v.text, map, kind, start, end, obfuscated: true };
}

/** Decoded copies of suspicious encoded spans (base64, hex, rot13), each ≤ 32 views. */
const B64_AT = new RegExp(B64_SPAN.source, "y");

/** base64 alphabet (with url-safe - and _), without "=" */
function b64Char(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 47 && c <= 57) || c === 43 || c === 45 || c === 95;
}

/**
 * One pass over the input: starts of base64-alphabet runs of 20+ chars (the only places a
 * B64_SPAN match can start), whether a hex-ish run holds 24+ hex digits (else HEX_SPAN cannot
 * match), and whether 64+ binary digits occur (else BIN_SPAN cannot match).
 */
function encodedCandidates(input: string): { b64: number[]; hex: boolean; bin: boolean } {
  const b64: number[] = [];
  let hex = false;
  let bits = 0;
  let hexDigits = 0;
  let runStart = -1;
  const n = input.length;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? input.charCodeAt(i) : 0;
    if (i < n && b64Char(c)) {
      if (runStart < 0) runStart = i;
    } else if (runStart >= 0) {
      if (i - runStart >= 20 && (runStart === 0 || input.charCodeAt(runStart - 1) !== 61)) b64.push(runStart);
      runStart = -1;
    }
    const isHex = (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
    if (isHex) {
      if (++hexDigits >= 24) hex = true;
    } else if (!(c === 120 || c === 92 || c === 32 || c === 58)) hexDigits = 0; // x \ space :
    if (c === 48 || c === 49) bits++;
  }
  return { b64, hex, bin: bits >= 64 };
}

export function decodedViews(input: string): View[] {
  const out: View[] = [];
  const cand = input.length >= 20 ? encodedCandidates(input) : null;
  if (cand) {
    for (const at of cand.b64) {
      if (out.length >= 32) break;
      B64_AT.lastIndex = at;
      const m = B64_AT.exec(input);
      if (!m) continue;
      const tok = m[0];
      // Real base64 of prose mixes cases and digits; skip identifiers and paths.
      if (!/[a-z]/.test(tok) || !/[A-Z]/.test(tok)) continue;
      const dec = decodeBase64(tok);
      if (dec && looksLikeWords(dec)) out.push(spanView(dec, m.index, m.index + tok.length, "base64"));
    }
    HEX_SPAN.lastIndex = 0;
    for (let m = cand.hex ? HEX_SPAN.exec(input) : null; m !== null && out.length < 32; m = HEX_SPAN.exec(input)) {
      const hex = m[0].replace(/\\x|0x|[ :]/g, "");
      if (hex.length % 2 !== 0) continue;
      const dec = Buffer.from(hex, "hex").toString("latin1");
      if (looksLikeWords(dec)) out.push(spanView(dec, m.index, m.index + m[0].trimEnd().length, "hex"));
    }
  }
  if (input.length >= 70 && cand?.bin) {
    BIN_SPAN.lastIndex = 0;
    for (let m = BIN_SPAN.exec(input); m !== null && out.length < 32; m = BIN_SPAN.exec(input)) {
      const bits = m[0].replace(/\s/g, "");
      let dec = "";
      for (let k = 0; k + 8 <= bits.length; k += 8) dec += String.fromCharCode(Number.parseInt(bits.slice(k, k + 8), 2));
      if (looksLikeWords(dec)) out.push(spanView(dec, m.index, m.index + m[0].trimEnd().length, "hex"));
    }
  }
  if (ROT13_HINT.test(input) && input.length <= 65536) {
    const v = normalize(rot13(input));
    out.push({ ...v, kind: "rot13" });
  }
  return out;
}

/** The plain normalised view followed by decoded views. */
export function views(input: string): View[] {
  return [normalize(input), ...decodedViews(input)];
}

/** Map a [start, end) span of a view back to the original text. */
export function toOriginal(view: View, start: number, end: number): { start: number; end: number } {
  const s = view.map[Math.min(start, view.text.length)] as number;
  const lastChar = end > start ? (view.map[Math.min(end - 1, view.text.length)] as number) : s;
  let e = view.map[Math.min(end, view.text.length)] as number;
  if (view.kind !== "plain" && view.kind !== "rot13") return { start: view.start, end: view.end };
  // The end is one past the last source char (that char may be a surrogate pair).
  if (e <= lastChar) e = lastChar + 1;
  return { start: s, end: Math.max(e, s) };
}

/** Shannon entropy in bits per character. */
export function shannon(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}
