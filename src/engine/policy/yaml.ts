/**
 * YAML with positions: every parse error and every semantic error found later can name
 * file:line:col. Shipped catalogs and packs are parsed with the same code as user files.
 */
import { isNode, LineCounter, parseDocument, type Document } from "yaml";
import { inputError, type TapPassError } from "../errors.ts";

export interface LocatedYaml {
  file: string;
  value: unknown;
  /** "file:line:col" of the node at a path (e.g. ["tools", "allow", 2]); falls back to the closest parent. */
  where(path: ReadonlyArray<string | number>): string;
}

/**
 * Shipped catalogs and packs: Bun's native YAML parser (~30x faster at start-up), with the
 * `yaml` package (positions) only when something needs a location or Bun's parser is absent.
 */
export function parseShippedYaml(text: string, file: string): LocatedYaml {
  const native = (globalThis as { Bun?: { YAML?: { parse(s: string): unknown } } }).Bun?.YAML;
  if (native) {
    try {
      const value = native.parse(text);
      let located: LocatedYaml | undefined;
      return { file, value, where: (path) => (located ??= parseYaml(text, file)).where(path) };
    } catch {
      // fall through: the yaml package reports the error with its position
    }
  }
  return parseYaml(text, file);
}

export function parseYaml(text: string, file: string): LocatedYaml {
  const lc = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0] ?? lc.linePos(err.pos[0]);
    throw inputError("policy_parse_error", `invalid YAML: ${err.message.split("\n")[0]}`, {
      where: `${file}:${pos.line}:${pos.col}`,
      hint: "fix the YAML at that position",
    });
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // aliases that expand without bound (a "billion laughs" file), or an alias to nothing
    throw inputError("policy_parse_error", `invalid YAML: ${(e as Error).message.split("\n")[0]}`, {
      where: `${file}:1:1`,
      hint: "expand the aliases (&anchor / *alias) by hand; a policy file needs few if any",
    });
  }
  const where = (path: ReadonlyArray<string | number>): string => {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) {
        const p = lc.linePos(node.range[0]);
        return `${file}:${p.line}:${p.col}`;
      }
    }
    return `${file}:1:1`;
  };
  return { file, value, where };
}

/** A bad-input error at a YAML path. */
export function yamlError(y: LocatedYaml | undefined, file: string, path: ReadonlyArray<string | number>, code: string, message: string, hint: string): TapPassError {
  return inputError(code, message, { where: y ? y.where(path) : file, hint });
}
