/** JSON-RPC framing: a bad message is answered so that its sender can match the answer. */
import { expect, test } from "bun:test";
import { INVALID_REQUEST, PARSE_ERROR, parseFrame } from "../../../src/engine/mcp/jsonrpc.ts";

test("not JSON is a parse error without id; an invalid message with an id is an invalid request to that id", () => {
  expect(parseFrame("{nope")).toMatchObject({ messages: [], code: PARSE_ERROR, id: null });
  expect(parseFrame('{"jsonrpc":"2.0","id":7,"method":"tools/call","params":"oops"}')).toMatchObject({ messages: [], code: INVALID_REQUEST, id: 7, error: expect.any(String) });
  expect(parseFrame('{"jsonrpc":"2.0","id":"a","method":42}')).toMatchObject({ code: INVALID_REQUEST, id: "a" });
  expect(parseFrame('{"jsonrpc":"2.0","method":42}')).toMatchObject({ code: INVALID_REQUEST, id: null });
  expect(parseFrame('{"jsonrpc":"2.0","id":1,"method":"ping"}')).toEqual({ messages: [{ jsonrpc: "2.0", id: 1, method: "ping" }] });
});
