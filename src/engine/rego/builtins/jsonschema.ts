/**
 * json.verify_schema / json.match_schema (OPA topdown/jsonschema.go, backed by gojsonschema there).
 *
 *   json.verify_schema(schema)            -> [true, null] | [false, "jsonschema: <why>"]
 *   json.match_schema(document, schema)   -> [valid, [{error, type, field, desc}, ...]]
 *
 * Both operands may be a JSON string or an object. Validation runs on Ajv (draft-07); schema
 * structure problems gojsonschema reports itself (bad `type`, bad regex, wrongly typed numeric
 * keywords) are detected here first so their wording follows gojsonschema's; validation errors
 * are mapped onto gojsonschema's error types and descriptions.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from "ajv";
import { RObject, type Value } from "../value.ts";
import { toPlain } from "./ext_util.ts";
import { type BuiltinContext, type BuiltinDef, BuiltinError } from "./registry.ts";

const PRIMITIVE_TYPES = ["array", "boolean", "integer", "number", "null", "object", "string"];

/** A Rego operand → plain JSON data, as OPA's astValueToJSONSchemaLoader. */
function load(v: Value): unknown {
  if (typeof v === "string") {
    try {
      return JSON.parse(v);
    } catch {
      throw new Error("invalid JSON string");
    }
  }
  if (v instanceof RObject) return plainNumbers(toPlain(v));
  throw new Error("wrong type, expected string or object");
}

function plainNumbers(x: unknown): unknown {
  if (typeof x === "bigint") return Number(x);
  if (Array.isArray(x)) return x.map(plainNumbers);
  if (x !== null && typeof x === "object") {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) o[k] = plainNumbers(v);
    return o;
  }
  return x;
}

const isObj = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === "object" && !Array.isArray(x);
const isInt = (x: unknown) => typeof x === "number" && Number.isInteger(x);

const SUBSCHEMA_MAPS = ["properties", "patternProperties", "definitions", "$defs", "dependencies"];
const SUBSCHEMA_ONE = ["additionalProperties", "additionalItems", "items", "not", "contains", "propertyNames", "if", "then", "else"];
const SUBSCHEMA_LISTS = ["allOf", "anyOf", "oneOf", "items"];
const NUMBER_KEYS = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"];
const NONNEG_INT_KEYS = ["minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"];

/** gojsonschema's own schema-parsing checks (message wording as in its default locale). */
function checkSchema(s: unknown): void {
  if (typeof s === "boolean") return;
  if (!isObj(s)) throw new Error(`Invalid type. Expected: object, given: ${jsonType(s)}`);
  if ("type" in s) {
    const t = s.type;
    const list = typeof t === "string" ? [t] : Array.isArray(t) ? t : undefined;
    if (!list) throw new Error("type must be of a string/array of strings");
    const seen = new Set<string>();
    for (const x of list) {
      if (typeof x !== "string") throw new Error("type must be of a string/array of strings");
      if (!PRIMITIVE_TYPES.includes(x)) {
        throw new Error(`has a primitive type that is NOT VALID -- given: /${x}/ Expected valid values are:[${PRIMITIVE_TYPES.join(" ")}]`);
      }
      if (seen.has(x)) throw new Error("type items must be unique");
      seen.add(x);
    }
  }
  for (const k of NUMBER_KEYS)
    if (k in s && typeof s[k] !== "number" && typeof s[k] !== "boolean") throw new Error(`${k} must be of a number`);
  if ("multipleOf" in s) {
    if (typeof s.multipleOf !== "number") throw new Error("multipleOf must be of a number");
    if (s.multipleOf <= 0) throw new Error("multipleOf must be strictly greater than 0");
  }
  for (const k of NONNEG_INT_KEYS) {
    if (!(k in s)) continue;
    if (!isInt(s[k])) throw new Error(`${k} must be of an integer`);
    if ((s[k] as number) < 0) throw new Error(`${k} must be greater than or equal to 0`);
  }
  if ("pattern" in s) {
    if (typeof s.pattern !== "string") throw new Error("pattern must be of a string");
    try {
      new RegExp(s.pattern, "u");
    } catch {
      throw new Error(`Invalid regex pattern '${s.pattern}'`);
    }
  }
  if ("required" in s) {
    if (!Array.isArray(s.required)) throw new Error("required must be of an array");
    const seen = new Set<unknown>();
    for (const r of s.required) {
      if (typeof r !== "string") throw new Error("required items must be string");
      if (seen.has(r)) throw new Error("required items must be unique");
      seen.add(r);
    }
  }
  if ("enum" in s) {
    if (!Array.isArray(s.enum)) throw new Error("enum must be of an array");
    if (s.enum.length === 0) throw new Error("enum must have at least 1 items");
  }
  for (const k of SUBSCHEMA_MAPS) {
    const m = s[k];
    if (m === undefined) continue;
    if (!isObj(m)) throw new Error(`${k} must be of an object`);
    for (const sub of Object.values(m)) if (isObj(sub) || typeof sub === "boolean") checkSchema(sub);
  }
  for (const k of SUBSCHEMA_ONE) if (isObj(s[k])) checkSchema(s[k]);
  for (const k of SUBSCHEMA_LISTS) {
    const l = s[k];
    if (Array.isArray(l)) for (const sub of l) checkSchema(sub);
    else if (k !== "items" && l !== undefined) throw new Error(`${k} must be of an array`);
  }
}

function jsonType(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "array";
  if (typeof x === "number") return Number.isInteger(x) ? "integer" : "number";
  return typeof x;
}

function newAjv(): Ajv {
  return new Ajv({ allErrors: true, strict: false, validateFormats: false, unicodeRegExp: true });
}

function compile(schema: unknown, ctx?: BuiltinContext): ValidateFunction {
  checkSchema(schema);
  const key = `jsonschema:${JSON.stringify(schema)}`;
  const cached = ctx?.cache.get(key) as ValidateFunction | undefined;
  if (cached) return cached;
  const ajv = newAjv();
  // gojsonschema also accepts draft-04/06 schemas; Ajv (draft-07) validates them without the marker.
  if (isObj(schema) && typeof schema.$schema === "string" && /draft-0[46]/.test(schema.$schema)) {
    const { $schema: _drop, ...rest } = schema;
    schema = rest;
  }
  let fn: ValidateFunction;
  try {
    fn = ajv.compile(schema as object);
  } catch (e) {
    throw new Error((e as Error).message);
  }
  ctx?.cache.set(key, fn);
  return fn;
}

// ---- error mapping -----------------------------------------------------------------------------

function fieldOf(path: string): string {
  if (path === "") return "(root)";
  return path
    .slice(1)
    .split("/")
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .join(".");
}

const fmt = (x: unknown) => JSON.stringify(x);

function mapError(e: ErrorObject, doc: unknown): { type: string; field: string; desc: string } | undefined {
  const p = e.params as Record<string, unknown>;
  let field = fieldOf(e.instancePath);
  const given = () => {
    let v: unknown = doc;
    for (const seg of e.instancePath.split("/").slice(1)) {
      const k = seg.replace(/~1/g, "/").replace(/~0/g, "~");
      v = Array.isArray(v) ? v[Number(k)] : (v as Record<string, unknown>)?.[k];
    }
    return jsonType(v);
  };
  switch (e.keyword) {
    case "type": {
      const t = p.type;
      const exp = Array.isArray(t) ? t.join("/") : String(t).split(",").join("/");
      return { type: "invalid_type", field, desc: `Invalid type. Expected: ${exp}, given: ${given()}` };
    }
    case "required":
      return { type: "required", field, desc: `${String(p.missingProperty)} is required` };
    case "enum":
      return {
        type: "enum",
        field,
        desc: `${field} must be one of the following: ${(p.allowedValues as unknown[]).map(fmt).join(", ")}`,
      };
    case "const":
      return { type: "const", field, desc: `${field} does not match: ${fmt(p.allowedValue)}` };
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum": {
      const map: Record<string, [string, string]> = {
        minimum: ["number_gte", "Must be greater than or equal to"],
        maximum: ["number_lte", "Must be less than or equal to"],
        exclusiveMinimum: ["number_gt", "Must be greater than"],
        exclusiveMaximum: ["number_lt", "Must be less than"],
      };
      const [type, text] = map[e.keyword] as [string, string];
      return { type, field, desc: `${text} ${String(p.limit)}` };
    }
    case "multipleOf":
      return { type: "multiple_of", field, desc: `Must be a multiple of ${String(p.multipleOf)}` };
    case "minLength":
      return { type: "string_gte", field, desc: `String length must be greater than or equal to ${String(p.limit)}` };
    case "maxLength":
      return { type: "string_lte", field, desc: `String length must be less than or equal to ${String(p.limit)}` };
    case "pattern":
      return { type: "pattern", field, desc: `Does not match pattern '${String(p.pattern)}'` };
    case "format":
      return { type: "format", field, desc: `Does not match format '${String(p.format)}'` };
    case "additionalProperties":
      return { type: "additional_property_not_allowed", field, desc: `Additional property ${String(p.additionalProperty)} is not allowed` };
    case "minItems":
      return { type: "array_min_items", field, desc: `Array must have at least ${String(p.limit)} items` };
    case "maxItems":
      return { type: "array_max_items", field, desc: `Array must have at most ${String(p.limit)} items` };
    case "additionalItems":
      return { type: "array_no_additional_items", field, desc: "No additional items allowed on array" };
    case "uniqueItems":
      return { type: "unique", field, desc: `array items[${String(p.j)},${String(p.i)}] must be unique` };
    case "contains":
      return { type: "contains", field, desc: "At least one of the items must match" };
    case "minProperties":
      return { type: "array_min_properties", field, desc: `Must have at least ${String(p.limit)} properties` };
    case "maxProperties":
      return { type: "array_max_properties", field, desc: `Must have at most ${String(p.limit)} properties` };
    case "dependencies":
    case "dependentRequired":
      return { type: "missing_dependency", field, desc: `Has a dependency on ${String(p.deps)}` };
    case "anyOf":
      return { type: "number_any_of", field, desc: "Must validate at least one schema (anyOf)" };
    case "oneOf":
      return { type: "number_one_of", field, desc: "Must validate one and only one schema (oneOf)" };
    case "not":
      return { type: "number_not", field, desc: "Must not validate the schema (not)" };
    case "if":
      return {
        type: p.failingKeyword === "else" ? "condition_else" : "condition_then",
        field,
        desc: p.failingKeyword === "else" ? 'Must validate "else" as "if" was not valid' : 'Must validate "then" as "if" was valid',
      };
    case "false schema":
      return { type: "false", field, desc: "False always fails validation" };
    case "propertyNames":
      return undefined;
    default:
      field = fieldOf(e.instancePath);
      return { type: e.keyword, field, desc: e.message ?? e.keyword };
  }
}

// ---- builtins ------------------------------------------------------------------------------------

function verifySchema(args: Value[], ctx: BuiltinContext): Value {
  try {
    compile(load(args[0] as Value), ctx);
  } catch (e) {
    return [false, `jsonschema: ${(e as Error).message}`];
  }
  return [true, null];
}

function matchSchema(args: Value[], ctx: BuiltinContext): Value {
  let doc: unknown;
  let validate: ValidateFunction;
  try {
    doc = load(args[0] as Value);
    validate = compile(load(args[1] as Value), ctx);
  } catch (e) {
    throw new BuiltinError((e as Error).message);
  }
  const ok = validate(doc) as boolean;
  const errors: Value[] = [];
  for (const err of validate.errors ?? []) {
    const m = mapError(err, doc);
    if (!m) continue;
    const o = new RObject();
    o.set("error", `${m.field}: ${m.desc}`);
    o.set("type", m.type);
    o.set("field", m.field);
    o.set("desc", m.desc);
    errors.push(o);
  }
  return [ok, errors];
}

export const builtins: BuiltinDef[] = [
  { name: "json.verify_schema", arity: 1, fn: verifySchema, result: "array" },
  { name: "json.match_schema", arity: 2, fn: matchSchema, result: "array" },
];
