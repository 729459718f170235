# Org baseline: apply with `tappass policy apply --level org policies/baseline.rego`.
# Compile-time aspects (package tappass.aspects): evaluated for every agent with its context as
# input (see policies/README.md). Everything here tightens the built-in standard baseline.
package tappass.aspects

import rego.v1

personal_data := {"customer_pii", "employee_pii", "health_data", "payment_data", "eu_residents"}

handles_personal_data if {
	some c in input.categories
	c in personal_data
}

is_data_engineer if input.function.name == "data_engineer_agent"

# Raw web fetches bypass the gateway's egress allow-list: nobody gets them.
tools_deny contains "WebFetch"

tools_deny contains "http_request"

tools_deny contains "fetch"

# Arbitrary SQL is for data engineers only.
tools_deny contains "run_sql" if not is_data_engineer

# Agents that handle personal data do not search the open web with it.
tools_deny contains "WebSearch" if handles_personal_data

# ... and personal data they see is reported, not only logged.
steps["detect_pii"] := {"action": "notify"} if handles_personal_data

dangerous_commands contains "git push --force*"

dangerous_commands contains "git push -f*"

forbidden_zones contains "~/.git-credentials"

filesystem_deny_paths contains "~/.git-credentials"

network_deny_domains contains "*.onion"

budget_tokens_per_day := 2000000

compliance_tags contains "org-baseline"
