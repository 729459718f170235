/** tappass tools discovered|approve|deny and mcp register, as scripts call them (exact JSON). */
import { afterEach, expect, test } from "bun:test";
import { tappass } from "../../helpers/cli.ts";
import { tempHome } from "../../helpers/home.ts";
import { ToolStore } from "../../../src/engine/mcp/discovery.ts";
import { closeAllState, openState } from "../../../src/engine/store/state.ts";
import { toolHash } from "../../../src/engine/pipeline/pins.ts";

let cleanup = () => {};
afterEach(() => cleanup());

test("discovered lists the queue; approve pins; deny refuses; unknown names exit 3; register stores auto-approve", () => {
  const t = tempHome();
  cleanup = t.cleanup;
  expect(tappass(["init"], { home: t.home }).code).toBe(0);
  const tool = { name: "get_weather", description: "Weather", inputSchema: { type: "object" } };
  new ToolStore(openState(t.home)).observe("paged", tool, toolHash(tool), "pending");
  closeAllState();

  const d = tappass(["tools", "discovered", "--json"], { home: t.home });
  expect(d.code).toBe(0);
  expect(d.json.tools).toEqual([expect.objectContaining({ name: "get_weather", server: "paged", status: "pending", pin: "unpinned" })]);

  const a = tappass(["tools", "approve", "get_weather", "--json"], { home: t.home });
  expect(a.code).toBe(0);
  expect(a.json).toMatchObject({ name: "get_weather", status: "approved", servers: ["paged"], pins: [toolHash(tool)] });
  expect(tappass(["tools", "discovered", "--json"], { home: t.home }).json.tools[0]).toMatchObject({ status: "approved", pin: "pinned" });

  expect(tappass(["tools", "deny", "get_weather", "--json"], { home: t.home }).json).toMatchObject({ status: "denied" });
  const unknown = tappass(["tools", "approve", "nope", "--json"], { home: t.home });
  expect(unknown.code).toBe(3);
  expect(unknown.json.error.code).toBe("unknown_tool");

  const r = tappass(["mcp", "register", "--name", "docs", "--url", "http://127.0.0.1:3001/mcp", "--auto-approve", "--json"], { home: t.home });
  expect(r.code).toBe(0);
  expect(r.json).toMatchObject({ name: "docs", auto_approve: true, changed: true });
  expect(tappass(["mcp", "proxy", "--agent", "x", "--json"], { home: t.home }).code).toBe(2);
  // the broker forwards to this host only: a remote URL is refused at registration, with a hint
  const remote = tappass(["mcp", "register", "--name", "far", "--url", "http://192.0.2.10/mcp", "--json"], { home: t.home });
  expect(remote.code).toBe(3);
  expect(remote.json.error).toMatchObject({ code: "bad_url", hint: expect.any(String) });
});

test("a stdio server command that cannot start is a configuration error (exit 3), not a TapPass bug", () => {
  const t = tempHome();
  cleanup = t.cleanup;
  expect(tappass(["init"], { home: t.home }).code).toBe(0);
  expect(tappass(["project", "create", "p"], { home: t.home }).code).toBe(0);
  expect(tappass(["agent", "create", "a", "--project", "p"], { home: t.home }).code).toBe(0);
  const r = tappass(["mcp", "proxy", "--agent", "a", "--json", "--", "/nonexistent/mcp-server"], { home: t.home });
  expect(r.code).toBe(3);
  expect(r.json.error).toMatchObject({ code: "mcp_server_spawn_failed" });
  expect(r.stderr).toContain('cannot start the MCP server "mcp-server" (/nonexistent/mcp-server): no such program');
});
