"""Every assertion kind a stored flow test can use (`Flow.tests[].assertions[].kind`)."""

from __future__ import annotations

from studio.catalog.models import AssertionKind

from .common import T, field

STATUSES = ["succeeded", "failed", "waiting", "skipped", "cancelled"]
OPERATORS = [("==", "equals"), ("!=", "differs from"), ("<", "is less than"), ("<=", "is at most"),
             (">", "is more than"), (">=", "is at least")]

_expected = field("expected", "Expected", T.JSON, "The value the output must have (any JSON value).",
                  required=True)

ASSERTIONS = [
    AssertionKind(id="equals", title="Equals",
                  description="The value at the path equals the expected value (JSON equality).",
                  inputs=[_expected]),
    AssertionKind(id="contains", title="Contains", description=(
        "Text: holds the expected text. List: has an item equal to it. Object: has it as a key."),
                  inputs=[field("expected", "Expected", T.STRING, "The text, item or key to look for.",
                                required=True),
                          field("ignore_case", "Ignore case", T.BOOLEAN, default=False)]),
    AssertionKind(id="matches", title="Matches regex",
                  description="The text at the path matches a regular expression (anywhere in it).",
                  inputs=[field("pattern", "Pattern", T.STRING, "A Python regular expression.", required=True),
                          field("ignore_case", "Ignore case", T.BOOLEAN, default=False)]),
    AssertionKind(id="json_schema", title="Matches JSON Schema",
                  description="The value at the path validates against a JSON Schema (draft 2020-12).",
                  inputs=[field("schema", "Schema", T.JSON, "The JSON Schema.", required=True)]),
    AssertionKind(id="compare", title="Compare", description=(
        "The value at the path compares with the expected value: == != < <= > >= (numbers, or texts)."),
                  inputs=[field("operator", "Operator", options=OPERATORS, default="==", required=True),
                          _expected]),
    AssertionKind(id="in_range", title="Number within range",
                  description="The number at the path (or a text's or list's length) is within the range.",
                  inputs=[field("minimum", "Minimum", T.NUMBER, "Empty: no lower bound."),
                          field("maximum", "Maximum", T.NUMBER, "Empty: no upper bound."),
                          field("length", "Check the length", T.BOOLEAN, default=False,
                                description="Compare the length of a text or list instead of the value.")]),
    AssertionKind(id="status", title="Status is", target="node",
                  description="The node ended with this status (a pinned or untaken node is skipped).",
                  inputs=[field("status", "Status", options=STATUSES, default="succeeded", required=True)]),
    AssertionKind(id="branch_taken", title="Branch was taken", target="node",
                  description="The node routed its value out of this port (a Classify and Branch branch, "
                              "or `error`).",
                  inputs=[field("branch", "Branch", T.STRING, "The output port key.", required=True)]),
    AssertionKind(id="branch_not_taken", title="Branch was not taken", target="node",
                  description="The node did not route its value out of this port.",
                  inputs=[field("branch", "Branch", T.STRING, "The output port key.", required=True)]),
    AssertionKind(id="tool_called", title="Tool was called", target="node", description=(
        "An agent node called this tool; with arguments, one call had at least these arguments."),
                  inputs=[field("tool", "Tool", T.STRING, "The tool's name.", required=True),
                          field("arguments", "Arguments", T.JSON,
                                "An object: each key must have this value in one call (others may differ).")]),
    AssertionKind(id="tool_not_called", title="Tool was not called", target="node",
                  description="An agent node never called this tool.",
                  inputs=[field("tool", "Tool", T.STRING, "The tool's name.", required=True)]),
    AssertionKind(id="token_budget", title="Token budget", target="run",
                  description="The node (or, without a node, the run) used at most this many tokens.",
                  inputs=[field("max_tokens", "Max tokens", T.INTEGER, required=True, minimum=0)]),
    AssertionKind(id="time_budget", title="Time budget", target="run",
                  description="The node (or, without a node, the run) took at most this long.",
                  inputs=[field("max_ms", "Max milliseconds", T.INTEGER, required=True, minimum=0)]),
    AssertionKind(id="judged", title="Judged by a model", deterministic=False, description=(
        "A model scores the value against a criterion (\"the answer is polite\"). Non-deterministic: "
        "it runs in live runs and when recording; a replay uses the recorded judgement or skips it."),
                  inputs=[field("criterion", "Criterion", T.TEXT, "What the value must satisfy.", required=True),
                          field("model", "Model", T.MODEL, default="gpt-4o-mini"),
                          field("connection", "Connection", T.CONNECTION)]),
]
