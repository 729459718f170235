import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class RegoEval extends BaseCommand {
  static override description = "Evaluate a Rego query like `opa eval`";
  static override examples = [
    "<%= config.bin %> rego eval --data policy.rego --input input.json 'data.authz.allow'",
    "<%= config.bin %> rego eval --data policy.rego --data roles.json 'x = data.authz.allow' --json",
  ];
  static override flags = {
    ...BaseCommand.baseFlags,
    data: Flags.string({ char: "d", multiple: true, multipleNonGreedy: true, description: "a .rego policy file or a .json/.yaml data file (repeatable)" }),
    input: Flags.string({ char: "i", description: "input document (JSON or YAML file)" }),
  };
  static override args = { query: Args.string({ required: true, description: "Rego query, e.g. data.authz.allow" }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(RegoEval);
    const { readFileSync } = await import("node:fs");
    const { inputError } = await import("../../engine/errors.ts");
    const { evalQuery } = await import("../../engine/rego/index.ts");
    const YAML = (await import("yaml")).default;
    const read = (file: string): string => {
      try {
        return readFileSync(file, "utf8");
      } catch (e) {
        throw inputError("file_not_found", `cannot read ${file}: ${(e as Error).message}`, { where: file, hint: "check the path" });
      }
    };
    const parseDoc = (file: string): unknown => {
      const text = read(file);
      try {
        return /\.ya?ml$/i.test(file) ? YAML.parse(text) : JSON.parse(text);
      } catch (e) {
        throw inputError("bad_input", `cannot parse ${file}: ${(e as Error).message.split("\n")[0]?.replace(/:$/, "")}`, { where: file, hint: "the file must be valid JSON or YAML" });
      }
    };
    const modules: { filename: string; source: string }[] = [];
    let data: Record<string, unknown> = {};
    for (const f of flags.data ?? []) {
      if (f.endsWith(".rego")) modules.push({ filename: f, source: read(f) });
      else {
        const d = parseDoc(f);
        if (d && typeof d === "object" && !Array.isArray(d)) data = deepMerge(data, d as Record<string, unknown>);
        else throw inputError("bad_input", `data file ${f} must hold an object`, { where: f });
      }
    }
    const input = flags.input !== undefined ? parseDoc(flags.input) : undefined;
    const result = evalQuery({ modules, query: args.query, input, data });
    this.output({ result }, (r) => (r.result.length === 0 ? "undefined" : JSON.stringify(r.result, null, 2)));
  }
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      prev && typeof prev === "object" && !Array.isArray(prev) && v && typeof v === "object" && !Array.isArray(v)
        ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}
