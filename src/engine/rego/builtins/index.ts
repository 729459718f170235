/**
 * All builtins by name. Each builtin file exports `builtins: BuiltinDef[]`; add one import line
 * and one spread per file below. Later entries win on a name clash.
 */
import type { BuiltinDef } from "./registry.ts";
import { builtins as core } from "./core.ts";

const all: BuiltinDef[][] = [
  core,
];

export const BUILTINS: Map<string, BuiltinDef> = new Map();
for (const list of all) for (const b of list) BUILTINS.set(b.name, b);
