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
  const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
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
