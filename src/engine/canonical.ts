/**
 * Canonical JSON: object keys sorted by code unit, no whitespace, `undefined` members dropped.
 * Used wherever bytes are hashed or signed (Compiled Policy envelopes, audit rows), so two
 * parties that agree on the value agree on the bytes.
 */
export function canonicalJson(value: unknown): string {
  return write(value);
}

// Built by string concatenation without intermediate arrays: the audit append path serialises
// every row's content with it, so it sits on every governed call's critical path.
function write(v: unknown): string {
  if (v === null || v === undefined) return "null";
  switch (typeof v) {
    case "string":
      return JSON.stringify(v);
    case "number":
      if (!Number.isFinite(v)) throw new TypeError("canonicalJson: non-finite number");
      return JSON.stringify(v);
    case "boolean":
      return v ? "true" : "false";
    case "bigint":
      return v.toString();
    case "object": {
      if (Array.isArray(v)) {
        let out = "[";
        for (let i = 0; i < v.length; i++) out += (i ? "," : "") + (v[i] === undefined ? "null" : write(v[i]));
        return `${out}]`;
      }
      const o = v as Record<string, unknown>;
      if (typeof (o as { toJSON?: unknown }).toJSON === "function") return write((o as { toJSON: () => unknown }).toJSON());
      const keys = Object.keys(o);
      if (keys.length > 1) keys.sort();
      let out = "{";
      let first = true;
      for (const k of keys) {
        const x = o[k];
        if (x === undefined) continue;
        out += `${first ? "" : ","}${JSON.stringify(k)}:${write(x)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode ${typeof v}`);
  }
}
