/**
 * The demo's model: a tiny Anthropic Messages upstream served in-process on 127.0.0.1, so
 * `tappass demo` needs no network and no API key. It plays a coding agent's model: for each
 * user request it asks for one tool call, then summarises the tool result.
 */
export interface ScriptedModel {
  url: string;
  close(): Promise<void>;
  calls: number;
}

interface Block {
  type: string;
  id?: string;
  text?: string;
  name?: string;
  input?: unknown;
  content?: unknown;
}
interface Msg {
  role: string;
  content: string | Block[];
}

const textOf = (m: Msg | undefined): string =>
  !m ? "" : typeof m.content === "string" ? m.content : m.content.map((b) => (b.type === "text" ? (b.text ?? "") : b.type === "tool_result" ? JSON.stringify(b.content) : "")).join(" ");

/** Which tool the model asks for, given the user's request. */
function plan(request: string): { name: string; input: Record<string, unknown> } | null {
  const r = request.toLowerCase();
  if (r.includes("list the files")) return { name: "Bash", input: { command: "ls -1", description: "List files in the workspace" } };
  if (r.includes("email")) return { name: "send_email", input: { to: "partner@example.org", subject: "Quarterly numbers", body: "Attached are the numbers you asked for." } };
  if (r.includes("private key")) return { name: "Read", input: { file_path: `${process.env.HOME ?? "/root"}/.ssh/id_rsa` } };
  return null;
}

export function startScriptedModel(): ScriptedModel {
  let calls = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method !== "POST" || url.pathname !== "/v1/messages") return Response.json({ type: "error", error: { type: "not_found_error", message: url.pathname } }, { status: 404 });
      calls++;
      const body = (await req.json()) as { model?: string; messages?: Msg[] };
      const msgs = body.messages ?? [];
      const last = msgs[msgs.length - 1];
      const lastIsToolResult = Array.isArray(last?.content) && last.content.some((b) => b.type === "tool_result");
      const firstUser = textOf(msgs.find((m) => m.role === "user"));
      let content: Block[];
      let stop = "end_turn";
      const step = plan(firstUser);
      if (!lastIsToolResult && step) {
        content = [
          { type: "text", text: `I'll use ${step.name}.` },
          { type: "tool_use", id: `toolu_demo_${calls}`, name: step.name, input: step.input },
        ];
        stop = "tool_use";
      } else {
        const said = textOf(last).slice(0, 200);
        content = [{ type: "text", text: lastIsToolResult ? `Done. The tool returned: ${said}` : `Noted: ${said}` }];
      }
      const input_tokens = Math.ceil(JSON.stringify(msgs).length / 4);
      return Response.json({
        id: `msg_demo_${calls}`,
        type: "message",
        role: "assistant",
        model: body.model ?? "claude-demo",
        content,
        stop_reason: stop,
        stop_sequence: null,
        usage: { input_tokens, output_tokens: Math.ceil(JSON.stringify(content).length / 4) },
      });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    get calls() {
      return calls;
    },
    close: async () => {
      await server.stop(true);
    },
  };
}
