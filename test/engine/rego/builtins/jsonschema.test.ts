import { describe, expect, test } from "bun:test";
import { callErr, callJ } from "./helpers.ts";

describe("json.verify_schema", () => {
  test("valid schemas (string or object)", () => {
    expect(callJ("json.verify_schema", ['{"type": "boolean"}'])).toEqual([true, null]);
    expect(callJ("json.verify_schema", [{ type: ["string", "null"], properties: { a: { minimum: 1 } } }])).toEqual([true, null]);
  });
  test("invalid schemas report gojsonschema wording", () => {
    const bad =
      "jsonschema: has a primitive type that is NOT VALID -- given: /unknown_type/ Expected valid values are:[array boolean integer number null object string]";
    expect(callJ("json.verify_schema", [{ type: "unknown_type" }])).toEqual([false, bad]);
    expect(callJ("json.verify_schema", [{ properties: { a: { type: "unknown_type" } } }])).toEqual([false, bad]);
    expect(callJ("json.verify_schema", ['{"pattern": "("}'])).toEqual([false, "jsonschema: Invalid regex pattern '('"]);
    expect(callJ("json.verify_schema", [{ minLength: -1 }])).toEqual([false, "jsonschema: minLength must be greater than or equal to 0"]);
    expect(callJ("json.verify_schema", ["not json"])).toEqual([false, "jsonschema: invalid JSON string"]);
    expect(callJ("json.verify_schema", [[1]])).toEqual([false, "jsonschema: wrong type, expected string or object"]);
  });
});

describe("json.match_schema", () => {
  const schema = {
    type: "object",
    required: ["name"],
    properties: {
      name: { type: "string" },
      id: { type: "integer" },
      n: { type: "number", minimum: 10 },
      tags: { type: "array", maxItems: 1 },
    },
    additionalProperties: false,
  };
  test("match", () => {
    expect(callJ("json.match_schema", [{ name: "x", id: 1 }, schema])).toEqual([true, []]);
    expect(callJ("json.match_schema", ['{"name": "x"}', JSON.stringify(schema)])).toEqual([true, []]);
  });
  test("errors carry error/type/field/desc", () => {
    const [ok, errs] = callJ("json.match_schema", [{ id: "x", n: 5, tags: [1, 2], extra: true }, schema]) as [
      boolean,
      Record<string, string>[],
    ];
    expect(ok).toBe(false);
    const byType = Object.fromEntries(errs.map((e) => [e.type, e]));
    expect(byType.invalid_type).toEqual({
      error: "id: Invalid type. Expected: integer, given: string",
      type: "invalid_type",
      field: "id",
      desc: "Invalid type. Expected: integer, given: string",
    });
    expect(byType.required?.desc).toBe("name is required");
    expect(byType.required?.field).toBe("(root)");
    expect(byType.number_gte?.desc).toBe("Must be greater than or equal to 10");
    expect(byType.array_max_items?.field).toBe("tags");
    expect(byType.additional_property_not_allowed?.desc).toBe("Additional property extra is not allowed");
    for (const e of errs) expect(e.error).toBe(`${e.field}: ${e.desc}`);
  });
  test("bad operands raise", () => {
    expect(callErr("json.match_schema", ["{", schema]).message).toBe("invalid JSON string");
    expect(callErr("json.match_schema", [{}, { type: "nope" }]).message).toContain("NOT VALID");
  });
});
