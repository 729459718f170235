/** A small TOML writer for the renderers (strings, numbers, booleans, arrays, nested tables). */
type Scalar = string | number | boolean;
type TomlValue = Scalar | Scalar[] | TomlTable | TomlTable[];
export interface TomlTable {
  [key: string]: TomlValue | undefined;
}

const bare = /^[A-Za-z0-9_-]+$/;
const key = (k: string) => (bare.test(k) ? k : JSON.stringify(k));
const scalar = (v: Scalar): string => (typeof v === "string" ? JSON.stringify(v) : String(v));
const isTable = (v: unknown): v is TomlTable => typeof v === "object" && v !== null && !Array.isArray(v);
const isTableArray = (v: unknown): v is TomlTable[] => Array.isArray(v) && v.length > 0 && v.every(isTable);

export function toToml(table: TomlTable, prefix: string[] = []): string {
  const lines: string[] = [];
  const nested: string[] = [];
  for (const [k, v] of Object.entries(table)) {
    if (v === undefined) continue;
    if (isTableArray(v)) {
      for (const t of v) nested.push(`\n[[${[...prefix, k].map(key).join(".")}]]\n${toToml(t, [...prefix, k]).trimStart()}`);
    } else if (isTable(v)) {
      const inner = toToml(v, [...prefix, k]);
      // A table holding only sub-tables needs no header of its own.
      nested.push(inner.startsWith("\n[") ? inner : `\n[${[...prefix, k].map(key).join(".")}]\n${inner.trimStart()}`);
    } else if (Array.isArray(v)) {
      lines.push(`${key(k)} = [${(v as Scalar[]).map(scalar).join(", ")}]`);
    } else {
      lines.push(`${key(k)} = ${scalar(v as Scalar)}`);
    }
  }
  return `${lines.join("\n")}${lines.length ? "\n" : ""}${nested.join("")}`;
}
