import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { withReference } from "../../scripts/gen-cli-docs.ts";
import { root } from "../helpers/cli.ts";

test("the README's CLI reference is generated from the commands and up to date (run `npm run docs`)", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  expect(readme).toContain("tappass exec");
  expect(withReference(readme)).toBe(readme);
});
