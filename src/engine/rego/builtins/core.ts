/** Core builtins (comparison, arithmetic, aggregates, arrays, sets, objects, strings, types). */
import type { BuiltinDef } from "./registry.ts";

export const builtins: BuiltinDef[] = [];
