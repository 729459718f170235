// The hook governor (harness/hook-server.ts) and its client (governor-client.ts): the Claude Code and
// Gemini CLI hook endpoints on one pipeline, and a session that outlives its capability token.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { askGovernor } from "../../../src/engine/harness/governor-client.ts";
import { type HookServer, startHookServer } from "../../../src/engine/harness/hook-server.ts";
import { issueToken } from "../../../src/engine/crypto/tokens.ts";
import { catalogEntry, toolNames } from "../../../src/engine/pipeline/steps/_tools.ts";
import { testPayload, signedEnvelope } from "../../helpers/policy.ts";
import { type Env, pipelineEnv } from "../pipeline/helpers.ts";

let env: Env;
let server: HookServer;
const SECRET = "session-secret-for-renewal";

beforeAll(async () => {
  env = await pipelineEnv();
  const payload = testPayload();
  server = startHookServer({
    pipeline: env.pipeline(payload),
    envelope: signedEnvelope(payload, env.keys),
    keys: env.keys,
    agent: payload.agent,
    renew: { secret: SECRET, issue: () => issueToken(env.keys, { agent: payload.agent, ttlSeconds: 60 }) },
  });
});
afterAll(async () => {
  await server?.close();
  env?.cleanup();
});

const agentEnv = (token: string) => ({ hook_url: server.url, token });
const bash = { session_id: "s", tool_name: "Bash", tool_input: { command: "ls" } };

test("an expired token is renewed with the session secret and the question asked again; without the secret it is refused", async () => {
  const short = await issueToken(env.keys, { agent: "mailer", ttlSeconds: 1 });
  await Bun.sleep(1100);
  await expect(askGovernor(agentEnv(short), "/hook/claude-code", bash, 5000, "")).rejects.toThrow(/expired/);
  await expect(askGovernor(agentEnv(short), "/hook/claude-code", bash, 5000, "not-the-secret")).rejects.toThrow(/refused to renew/);
  const answer = (await askGovernor(agentEnv(short), "/hook/claude-code", bash, 5000, SECRET)) as { hookSpecificOutput: { permissionDecision: string } };
  expect(answer.hookSpecificOutput.permissionDecision).toBe("allow");
});

test("the Gemini endpoint decides Gemini's own tool names under the policy's (run_shell_command is Bash)", async () => {
  const token = await env.token();
  const ask = (tool_name: string, tool_input: Record<string, unknown>) => askGovernor(agentEnv(token), "/hook/gemini", { session_id: "g", hook_event_name: "BeforeTool", tool_name, tool_input }, 5000, "");
  expect(await ask("run_shell_command", { command: "ls" })).toEqual({ decision: "allow" });
  expect(await ask("run_shell_command", { command: "rm -rf / --no-preserve-root" })).toMatchObject({ decision: "deny", reason: expect.stringMatching(/dangerous_commands/) });
  // an MCP tool is named by mcp_context, as the policy names it
  const mcp = (await askGovernor(agentEnv(token), "/hook/gemini", { session_id: "g", tool_name: "send_email", tool_input: {}, mcp_context: { server_name: "mail", tool_name: "send_email" } }, 5000, "")) as { decision: string };
  expect(mcp.decision).toBe("deny");
  expect(server.decisions.at(-1)?.reason).toContain("mcp__mail__send_email");
});

test("a built-in tool takes its alias's catalog entry, never an MCP server's tool of the same name", () => {
  const base = testPayload();
  const schema = (field: string) => ({ type: "object", properties: { [field]: { type: "string" } }, required: [field] });
  // as the shipped catalog has them: Claude Code's Read, and the filesystem MCP server's read_file
  const catalog = { Read: { capabilities: ["filesystem_read"], input_schema: schema("file_path") }, read_file: { capabilities: ["filesystem_read"], server: "filesystem", input_schema: schema("path") } };
  const policy = { ...base, tools: { ...base.tools, catalog } };
  expect(toolNames({ name: "read_file", arguments: {}, origin: "hook" as const })).toEqual(["read_file", "Read"]);
  expect(toolNames({ name: "read_file", server: "filesystem", arguments: {}, origin: "hook" as const })).not.toContain("Read");
  // Gemini's read_file: Claude Code's Read (file_path), not the filesystem server's read_file (path)
  expect(catalogEntry(policy, { name: "read_file", arguments: {}, origin: "hook" as const })?.input_schema?.required).toEqual(["file_path"]);
  expect(catalogEntry(policy, { name: "read_file", server: "filesystem", arguments: {}, origin: "hook" as const })?.input_schema?.required).toEqual(["path"]);
  expect(catalogEntry(policy, { name: "mcp__filesystem__read_file", arguments: {}, origin: "hook" as const })?.server).toBe("filesystem");
});
