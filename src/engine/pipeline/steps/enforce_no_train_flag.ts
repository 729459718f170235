/**
 * enforce_no_train_flag: marks the call no-train (ctx.flags.no_train; the gateway sends the
 * provider's opt-out, e.g. OpenAI `store: false`) and refuses a call that asks to be used for
 * training (ctx.flags.allow_training) or goes to a provider listed in config.training_providers.
 */
import type { StepDef } from "../types.ts";
import { act, strs } from "./_util.ts";

const step: StepDef = {
  name: "enforce_no_train_flag",
  phase: "before_call",
  aspect: "compliance_tags",
  run(ctx, env) {
    if (ctx.surface !== "llm" && !ctx.model) return { decision: "allow", evidence: { applies: false } };
    ctx.flags.no_train = true;
    const trainers = strs(env.step.config?.training_providers);
    if (ctx.flags.allow_training === true) return { decision: act(env.action), reason: "the request opts in to provider training; policy requires no-train", evidence: { no_train: true, opt_in: true } };
    if (ctx.provider && trainers.includes(ctx.provider)) return { decision: act(env.action), reason: `provider ${ctx.provider} trains on traffic; policy requires no-train`, evidence: { no_train: true, provider: ctx.provider } };
    return { decision: "log", evidence: { no_train: true } };
  },
};
export default step;
