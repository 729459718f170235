/** The render targets, by id (a static table: nothing is discovered at run time). */
import { claudeCode } from "./claude-code.ts";
import { codex } from "./codex.ts";
import { geminiCli } from "./gemini-cli.ts";
import { langchainSdk } from "./langchain-sdk.ts";
import { macosSeatbelt } from "./macos-seatbelt.ts";
import { monty } from "./monty.ts";
import { nono } from "./nono.ts";
import { openshell } from "./openshell.ts";
import type { Provider } from "./types.ts";

export const providers: Record<string, Provider> = Object.fromEntries(
  [claudeCode, codex, geminiCli, openshell, nono, macosSeatbelt, monty, langchainSdk].map((p) => [p.id, p]),
);

export type { Provider, RenderCapabilities, RenderedFile } from "./types.ts";
