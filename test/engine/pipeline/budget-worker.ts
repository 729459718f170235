/**
 * A separate process spending from the shared budget (cross-process budget test):
 *   bun test/engine/pipeline/budget-worker.ts HOME CALLS TOKENS_PER_DAY
 * Runs CALLS concurrent model calls of 1000 estimated tokens each, holding each reservation
 * for a few ms before reconciling; prints {"allowed": N, "denied": N}.
 */
import { ensureKeys, loadKeys } from "../../../src/engine/crypto/keys.ts";
import { createPipeline } from "../../../src/engine/pipeline/index.ts";
import { openState } from "../../../src/engine/store/state.ts";
import { signedEnvelope, testPayload } from "../../helpers/policy.ts";

const [home, callsArg, limitArg] = process.argv.slice(2);
const db = openState(home as string);
await ensureKeys(home);
const keys = loadKeys(home);
const pipeline = createPipeline({
  envelope: signedEnvelope(testPayload({ budget: { tokens_per_day: Number(limitArg), dollars_per_month: null, requests_per_minute: null } }), keys),
  db,
  keys,
});
let allowed = 0;
let denied = 0;
await Promise.all(
  Array.from({ length: Number(callsArg) }, async (_, i) => {
    const c = pipeline.begin({
      surface: "eval",
      agent: "mailer",
      session_id: `budget-${process.pid}-${i}`,
      model: "gpt-4o-mini",
      estimate: { input_tokens: 600, output_tokens: 400 },
      request: [{ path: "p", kind: "prompt", text: "Summarise yesterday's tickets." }],
    });
    const v = await c.run("before_call");
    if (v.decision === "allow") {
      allowed++;
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 10));
      c.ctx.usage = { input_tokens: 600, output_tokens: 400 };
      await c.run("after_call");
    } else denied++;
    await c.finish();
  }),
);
process.stdout.write(`${JSON.stringify({ allowed, denied })}\n`);
process.exit(0);
