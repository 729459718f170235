/** json.filter, json.remove and json.patch (OPA semantics, including sets and array paths). */
import { equal, RObject, RSet, type Value } from "../value.ts";
import { argObject, type BuiltinDef, BuiltinError, def, typeErr } from "./registry.ts";

type Path = Value[];

/** A path: "a/b/c" (leading slashes trimmed, ~1 → /, ~0 → ~) or an array of segments. */
function parsePath(p: Value, operandErr: () => BuiltinError): Path {
  if (typeof p === "string") {
    if (p === "") return [];
    return p
      .replace(/^\/+/, "")
      .split("/")
      .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
  }
  if (Array.isArray(p)) return p;
  throw operandErr();
}

function jsonPaths(v: Value): Path[] {
  const elemErr = (x: Value) => () =>
    new BuiltinError(`operand 2 must be one of {set, array} containing string paths or array of path segments but got ${typeNameOf(x)}`, "eval_type_error");
  if (Array.isArray(v)) return v.map((x) => parsePath(x, elemErr(x)));
  if (v instanceof RSet) return v.values().map((x) => parsePath(x, elemErr(x)));
  throw typeErr(2, "one of {set, array}", v);
}

function typeNameOf(v: Value): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (v instanceof RObject) return "object";
  if (v instanceof RSet) return "set";
  return typeof v === "object" ? "number" : typeof v;
}

/** Build the filter tree: nested RObjects with null leaves. */
function pathsToObject(paths: Path[]): RObject {
  const root = new RObject();
  for (const path of paths) {
    if (path.length === 0) continue;
    let node = root;
    let done = false;
    for (let i = 0; i < path.length - 1 && !done; i++) {
      const k = path[i] as Value;
      const child = node.get(k);
      if (child === undefined) {
        const o = new RObject();
        node.set(k, o);
        node = o;
      } else if (child === null) done = true;
      else node = child as RObject;
    }
    if (!done) node.set(path[path.length - 1] as Value, null);
  }
  return root;
}

function filterValue(o: Value, filter: Value): Value {
  if (filter === null) return o;
  const f = filter as RObject;
  if (Array.isArray(o)) {
    const out: Value[] = [];
    o.forEach((x, i) => {
      const sub = f.get(String(i));
      if (sub !== undefined) out.push(filterValue(x, sub));
    });
    return out;
  }
  if (o instanceof RSet) {
    const out = new RSet();
    for (const x of o.values()) {
      const sub = f.get(x);
      if (sub !== undefined) out.add(filterValue(x, sub));
    }
    return out;
  }
  if (o instanceof RObject) {
    const out = new RObject();
    const [small, big] = o.size <= f.size ? [o, f] : [f, o];
    for (const k of small.keys()) {
      if (big.has(k)) out.set(k, filterValue(o.get(k) as Value, f.get(k) as Value));
    }
    return out;
  }
  return o;
}

function removeValue(a: Value, b: Value | undefined): Value | undefined {
  if (b === undefined) return a;
  if (b === null) return undefined;
  if (!(b instanceof RObject)) return a;
  if (a instanceof RObject) {
    const out = new RObject();
    for (const [k, v] of a.entries()) {
      const d = removeValue(v, b.get(k));
      if (d !== undefined) out.set(k, d);
    }
    return out;
  }
  if (a instanceof RSet) {
    const out = new RSet();
    for (const v of a.values()) {
      const d = removeValue(v, b.get(v));
      if (d !== undefined) out.add(d);
    }
    return out;
  }
  if (Array.isArray(a)) {
    const out: Value[] = [];
    a.forEach((v, i) => {
      const d = removeValue(v, b.get(String(i)));
      if (d !== undefined) out.push(d);
    });
    return out;
  }
  return a;
}

// ---- json.patch -------------------------------------------------------------------------------

function toIndex(arr: Value[], key: Value): number | undefined {
  if (typeof key === "number") return Number.isInteger(key) ? key : undefined;
  if (typeof key === "string") {
    if (key === "-") return arr.length;
    if (!/^-?\d+$/.test(key)) return undefined;
    if (key !== "0" && key.startsWith("0")) return undefined;
    const n = Number(key);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

type Worker = (parent: Value, key: Value) => [Value | undefined, Value | undefined];

function traverse(target: Value, path: Path, worker: Worker): [Value | undefined, Value | undefined] {
  if (path.length < 1) return [undefined, undefined];
  const key = path[0] as Value;
  if (path.length === 1) return worker(target, key);
  const rest = path.slice(1);
  let result: Value | undefined;
  let success = false;
  if (target instanceof RObject) {
    const out = new RObject();
    for (const [k, v] of target.entries()) {
      if (equal(k, key)) {
        const [nv, r] = traverse(v, rest, worker);
        result = r;
        if (nv !== undefined) {
          out.set(k, nv);
          success = true;
        }
      } else out.set(k, v);
    }
    return success ? [out, result] : [undefined, undefined];
  }
  if (Array.isArray(target)) {
    const idx = toIndex(target, key);
    if (idx === undefined) return [undefined, undefined];
    const out: Value[] = [];
    target.forEach((v, i) => {
      if (i === idx) {
        const [nv, r] = traverse(v, rest, worker);
        result = r;
        if (nv !== undefined) {
          out.push(nv);
          success = true;
        }
      } else out.push(v);
    });
    return success ? [out, result] : [undefined, undefined];
  }
  if (target instanceof RSet) {
    const out = new RSet();
    for (const v of target.values()) {
      if (equal(v, key)) {
        const [nv, r] = traverse(v, rest, worker);
        result = r;
        if (nv !== undefined) {
          out.add(nv);
          success = true;
        }
      } else out.add(v);
    }
    return success ? [out, result] : [undefined, undefined];
  }
  return [undefined, undefined];
}

function patchGet(target: Value, path: Path): Value | undefined {
  if (path.length === 0) return target;
  return traverse(target, path, (parent, key) => {
    if (parent instanceof RObject) return [parent, parent.get(key)];
    if (Array.isArray(parent)) {
      const i = toIndex(parent, key);
      if (i !== undefined && i >= 0 && i < parent.length) return [parent, parent[i] as Value];
    }
    if (parent instanceof RSet && parent.has(key)) return [parent, key];
    return [undefined, undefined];
  })[1];
}

function patchAdd(target: Value, path: Path, value: Value): Value | undefined {
  if (path.length === 0) return value;
  return traverse(target, path, (parent, key) => {
    if (parent instanceof RObject) return [parent.clone().set(key, value), undefined];
    if (Array.isArray(parent)) {
      const idx = toIndex(parent, key);
      if (idx === undefined || idx < 0 || idx > parent.length) return [undefined, undefined];
      return [[...parent.slice(0, idx), value, ...parent.slice(idx)], undefined];
    }
    if (parent instanceof RSet) {
      if (!equal(key, value)) return [undefined, undefined];
      return [parent.clone().add(key), undefined];
    }
    return [undefined, undefined];
  })[0];
}

function patchRemove(target: Value, path: Path): [Value | undefined, Value | undefined] {
  if (path.length === 0) return [undefined, undefined];
  const [t, removed] = traverse(target, path, (parent, key) => {
    if (parent instanceof RObject) {
      const r = parent.get(key);
      return [parent.clone().delete(key), r];
    }
    if (Array.isArray(parent)) {
      const idx = toIndex(parent, key);
      if (idx === undefined || idx < 0 || idx >= parent.length) return [undefined, undefined];
      return [[...parent.slice(0, idx), ...parent.slice(idx + 1)], parent[idx] as Value];
    }
    if (parent instanceof RSet) {
      const r = parent.has(key) ? key : undefined;
      return [parent.clone().delete(key), r];
    }
    return [undefined, undefined];
  });
  if (t !== undefined && removed !== undefined) return [t, removed];
  return [undefined, undefined];
}

function jsonPatch(doc: Value, ops: Value[]): Value | undefined {
  let target: Value | undefined = doc;
  for (const op of ops) {
    if (!(op instanceof RObject)) throw new BuiltinError("operand 2 must be an array of JSON-Patch objects", "eval_type_error");
    const attr = (name: string): Value => {
      const v = op.get(name);
      if (v === undefined) throw new BuiltinError(`operand 2 patch is missing '${name}' attribute`, "eval_type_error");
      return v;
    };
    const pathAttr = (name: string): Path =>
      parsePath(attr(name), () => new BuiltinError("operand 2 must be one of {set, array} containing string paths or array of path segments", "eval_type_error"));
    const kind = attr("op");
    if (typeof kind !== "string") throw new BuiltinError("operand 2 patch attribute 'op' must be a string", "eval_type_error");
    const path = pathAttr("path");
    const t: Value = target as Value;
    switch (kind) {
      case "add":
        target = patchAdd(t, path, attr("value"));
        break;
      case "remove":
        target = patchRemove(t, path)[0];
        break;
      case "replace": {
        const value = attr("value");
        if (path.length === 0) target = value;
        else {
          const [r] = patchRemove(t, path);
          target = r === undefined ? undefined : patchAdd(r, path, value);
        }
        break;
      }
      case "move": {
        const from = pathAttr("from");
        const [r, removed] = patchRemove(t, from);
        target = r === undefined || removed === undefined ? undefined : patchAdd(r, path, removed);
        break;
      }
      case "copy": {
        const from = pathAttr("from");
        const v = patchGet(t, from);
        target = v === undefined ? undefined : patchAdd(t, path, v);
        break;
      }
      case "test": {
        const value = attr("value");
        const actual = patchGet(t, path);
        target = actual !== undefined && equal(actual, value) ? t : undefined;
        break;
      }
      default:
        throw new BuiltinError("operand 2 must be an array of JSON-Patch objects", "eval_type_error");
    }
    if (target === undefined) return undefined;
  }
  return target;
}

export const builtins: BuiltinDef[] = [
  def("json.filter", 2, (args) => {
    const o = argObject(args, 0);
    return filterValue(o, pathsToObject(jsonPaths(args[1] as Value)));
  }),
  def("json.remove", 2, (args) => {
    const o = argObject(args, 0);
    return removeValue(o, pathsToObject(jsonPaths(args[1] as Value)));
  }),
  def("json.patch", 2, (args) => {
    const ops = args[1] as Value;
    if (!Array.isArray(ops)) throw typeErr(2, "array", ops);
    return jsonPatch(args[0] as Value, ops);
  }),
];
