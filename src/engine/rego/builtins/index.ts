/**
 * All builtins by name. Each builtin file exports `builtins: BuiltinDef[]`; add one import line
 * and one spread per file below. Later entries win on a name clash.
 */
import type { BuiltinDef } from "./registry.ts";
import { builtins as core } from "./core.ts";
import { builtins as regexBuiltins } from "./regex.ts";
import { builtins as encodingBuiltins } from "./encoding.ts";
import { builtins as unitsBuiltins } from "./units.ts";
import { builtins as bitsBuiltins } from "./bits.ts";
import { builtins as semverBuiltins } from "./semver.ts";
import { builtins as uuidBuiltins } from "./uuid.ts";
import { builtins as netBuiltins } from "./net.ts";
import { builtins as timeBuiltins } from "./time.ts";
import { builtins as jsonopsBuiltins } from "./jsonops.ts";
import { builtins as jwtBuiltins } from "./jwt.ts";
import { builtins as cryptoBuiltins } from "./crypto.ts";
import { builtins as templateBuiltins } from "./template.ts";
import { builtins as regoastBuiltins } from "./regoast.ts";
import { builtins as graphrandBuiltins } from "./graphrand.ts";
import { builtins as awsBuiltins } from "./aws.ts";
import { builtins as jsonschemaBuiltins } from "./jsonschema.ts";

const all: BuiltinDef[][] = [
  core,
  regexBuiltins,
  encodingBuiltins,
  unitsBuiltins,
  bitsBuiltins,
  semverBuiltins,
  uuidBuiltins,
  netBuiltins,
  timeBuiltins,
  jsonopsBuiltins,
  jwtBuiltins,
  cryptoBuiltins,
  templateBuiltins,
  regoastBuiltins,
  graphrandBuiltins,
  awsBuiltins,
  jsonschemaBuiltins,
];

export const BUILTINS: Map<string, BuiltinDef> = new Map();
for (const list of all) for (const b of list) BUILTINS.set(b.name, b);
