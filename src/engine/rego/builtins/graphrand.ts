/** graph.reachable_paths and rand.intn (OPA semantics). */
import { randomInt } from "node:crypto";
import { RObject, RSet, type Value } from "../value.ts";
import { argString, type BuiltinDef, BuiltinError, def, typeErr } from "./registry.ts";

function vertices(v: Value | undefined): Value[] {
  if (Array.isArray(v)) return v;
  if (v instanceof RSet) return v.values();
  return [];
}

function pathsFrom(graph: RObject, root: Value, path: Value[], reached: RSet, out: RSet): void {
  const edges = graph.get(root);
  if (edges === undefined) {
    // not in the graph: commit the path without this node
    out.add(path);
    return;
  }
  const p = [...path, root];
  const next = vertices(edges);
  if (next.length === 0) {
    out.add(p);
    return;
  }
  for (const n of next) {
    if (reached.has(n)) out.add(p);
    else {
      reached.add(root);
      pathsFrom(graph, n, p, reached, out);
    }
  }
}

export const builtins: BuiltinDef[] = [
  def("graph.reachable_paths", 2, ([g, init]) => {
    if (!(g instanceof RObject)) throw typeErr(1, "object", g as Value);
    if (!Array.isArray(init) && !(init instanceof RSet)) throw typeErr(2, "one of {array, set}", init as Value);
    const out = new RSet();
    for (const node of vertices(init)) {
      const edges = g.get(node);
      if (edges === undefined) continue;
      const next = vertices(edges);
      if (next.length === 0) out.add([node]);
      for (const n of next) pathsFrom(g, n, [node], RSet.from([node]), out);
    }
    return out;
  }),
  def(
    "rand.intn",
    2,
    (args, ctx) => {
      const s = argString(args, 0);
      const v = args[1] as Value;
      if (typeof v !== "number") throw typeErr(2, "number", v);
      if (!Number.isInteger(v)) throw new BuiltinError("operand 2 must be integer number but got floating-point number", "eval_type_error");
      let n = v;
      if (n === 0) return 0;
      if (n < 0) n = -n;
      const key = `rand.intn:${s}-${n}`;
      const hit = ctx.cache.get(key);
      if (typeof hit === "number") return hit;
      const r = n > 2 ** 48 - 1 ? Math.floor(Math.random() * n) : randomInt(n);
      ctx.cache.set(key, r);
      return r;
    },
    { nondeterministic: true },
  ),
];
