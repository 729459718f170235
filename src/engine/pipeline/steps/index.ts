/**
 * The step registry: a static table by name (no discovery at run time). Adding a step is one
 * file in this folder, one import and one entry here; policies name steps by these keys.
 */
import type { StepDef } from "../types.ts";
import check_policy_fresh from "./check_policy_fresh.ts";
import verify_capability_token from "./verify_capability_token.ts";
import enforce_session_scope from "./enforce_session_scope.ts";
import detect_secrets from "./detect_secrets.ts";
import detect_pii from "./detect_pii.ts";
import detect_prompt_injection from "./detect_prompt_injection.ts";
import detect_jailbreak from "./detect_jailbreak.ts";
import detect_exfil from "./detect_exfil.ts";
import redact_pii_in_prompt from "./redact_pii_in_prompt.ts";
import pii_restore from "./pii_restore.ts";
import apply_compiled_policy from "./apply_compiled_policy.ts";
import tools_allowed from "./tools_allowed.ts";
import tools_denied from "./tools_denied.ts";
import denied_tool_categories from "./denied_tool_categories.ts";
import forbidden_capabilities from "./forbidden_capabilities.ts";
import tool_arg_validation from "./tool_arg_validation.ts";
import schema_acl from "./schema_acl.ts";
import tool_constraints from "./tool_constraints.ts";
import forbidden_zones from "./forbidden_zones.ts";
import dangerous_commands from "./dangerous_commands.ts";
import loop_guard from "./loop_guard.ts";
import tool_pinning from "./tool_pinning.ts";
import scan_output from "./scan_output.ts";
import detect_pii_in_response from "./detect_pii_in_response.ts";
import detect_secrets_in_response from "./detect_secrets_in_response.ts";
import redact_response from "./redact_response.ts";
import enforce_no_train_flag from "./enforce_no_train_flag.ts";
import enforce_token_budget from "./enforce_token_budget.ts";
import enforce_dollar_budget from "./enforce_dollar_budget.ts";
import enforce_rate_limit from "./enforce_rate_limit.ts";
import enforce_tool_call_rate from "./enforce_tool_call_rate.ts";
import emit_audit_row from "./emit_audit_row.ts";
import hash_chain_link from "./hash_chain_link.ts";
import sign_mandate from "./sign_mandate.ts";

export const STEPS: Record<string, StepDef> = {
  check_policy_fresh,
  verify_capability_token,
  enforce_session_scope,
  detect_secrets,
  detect_pii,
  detect_prompt_injection,
  detect_jailbreak,
  detect_exfil,
  redact_pii_in_prompt,
  pii_restore,
  apply_compiled_policy,
  tools_allowed,
  tools_denied,
  denied_tool_categories,
  forbidden_capabilities,
  tool_arg_validation,
  schema_acl,
  tool_constraints,
  forbidden_zones,
  dangerous_commands,
  loop_guard,
  tool_pinning,
  scan_output,
  detect_pii_in_response,
  detect_secrets_in_response,
  redact_response,
  enforce_no_train_flag,
  enforce_token_budget,
  enforce_dollar_budget,
  enforce_rate_limit,
  enforce_tool_call_rate,
  emit_audit_row,
  hash_chain_link,
  sign_mandate,
};

/** Every registered step name, in registry order. */
export const STEP_NAMES = Object.keys(STEPS);
