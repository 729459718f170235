# Per-call rule for a strict project: apply with
#   tappass policy apply --level project=eu-support policies/strict-project.rego
# Carried into the Compiled Policy's `rules`; the pipeline's apply_compiled_policy step
# evaluates data.tappass.tool.deny with the tool call as input.
package tappass.tool

import rego.v1

# Outbound mail only to the company's own domain; anything else waits for a human.
deny contains msg if {
	input.tool.name == "send_email"
	not endswith(lower(input.tool.arguments.to), "@acme.example")
	msg := sprintf("send_email to %s: external recipients need approval", [input.tool.arguments.to])
}

# No attachments of whole exports.
deny contains msg if {
	input.tool.name == "send_email"
	count(object.get(input.tool.arguments, "attachments", [])) > 3
	msg := "send_email: more than 3 attachments"
}
