"""What starts a flow: the documents' Tool Flow Trigger, and the local triggers every flow editor
offers (manual, schedule, webhook, chat)."""

from studio.catalog.models import Action

from .common import T, field, src

ACTIONS = [
    Action(
        id="trigger.manual", kind="trigger", title="Manual Trigger", category="Triggers", uses_connection=False,
        description="Start the flow by hand (Run in the editor, `studio run`); its fields are the run's inputs.",
        inputs=[
            field("fields", "Input Fields", T.JSON,
                  "The run's inputs: a list of {name, type, default, description}. Values given at run time "
                  "(the editor's form, `studio run --input name=value`) replace the defaults.",
                  default=[]),
        ],
    ),
    Action(
        id="trigger.schedule", kind="trigger", title="Schedule Trigger", category="Triggers", uses_connection=False,
        description="Start the flow on a schedule while `studio serve` (or the editor) keeps it active.",
        inputs=[
            field("cron", "Cron Expression", T.STRING,
                  "Five-field cron expression (minute hour day-of-month month day-of-week), e.g. '0 9 * * 1-5'. "
                  "Leave empty to use an interval.", placeholder="0 9 * * 1-5"),
            field("interval_seconds", "Interval (seconds)", T.INTEGER,
                  "Run every this many seconds (instead of a cron expression).", minimum=1),
            field("timezone", "Time Zone", T.STRING, "IANA time zone the cron expression is read in.",
                  default="UTC"),
        ],
    ),
    Action(
        id="trigger.webhook", kind="trigger", title="Webhook Trigger", category="Triggers", uses_connection=False,
        description="Start the flow when an HTTP request reaches a local endpoint (127.0.0.1 by default); the "
                    "request's body, query and headers are the trigger's output.",
        inputs=[
            field("method", "HTTP Method", description="The method the endpoint accepts.",
                  options=["POST", "GET", "PUT", "PATCH", "DELETE"], default="POST"),
            field("path", "Path", T.STRING, "The endpoint's path, e.g. /hooks/new-order.", required=True,
                  placeholder="/hooks/new-order"),
            field("secret_header", "Secret Header", T.STRING,
                  "Optional header that must carry the shared secret (the secret itself comes from the "
                  "FLOW_STUDIO_WEBHOOK_SECRET environment variable, never from the flow file)."),
            field("sensitive_headers", "Sensitive Headers", T.STRING_LIST,
                  "Request headers kept out of the trigger's output and the run history, e.g. X-Api-Key. "
                  "Authorization, Proxy-Authorization, Cookie and the Secret Header are always left out, "
                  "so caller credentials never reach the flow or the run history."),
            field("response_mode", "Respond",
                  description="Answer at once; with a chosen node's output when the run ends; with the output of the "
                              "last node that finished; or with what a Respond to Webhook node says (status, headers, "
                              "body) as soon as it runs.",
                  options=[("immediate", "Immediately (202 Accepted)"), ("node", "With a node's output"),
                           ("last_node", "When last node finishes"),
                           ("respond_node", "Using 'Respond to Webhook' node")],
                  default="immediate"),
            field("response_node", "Response Node", T.STRING, "The node whose output is the answer (Respond: node).",
                  names_node=True),
        ],
    ),
    Action(
        id="trigger.chat", kind="trigger", title="Chat Trigger", category="Triggers", uses_connection=False,
        description="Start the flow for each message typed in the chat panel; the reply is a chosen node's output "
                    "and earlier turns are available as trigger.history.",
        inputs=[
            field("reply_node", "Reply Node", T.STRING, "The node whose output is the chat reply.", required=True,
                  names_node=True),
            field("welcome_message", "Welcome Message", T.TEXT, "Shown when the chat opens."),
        ],
    ),
    Action(
        id="trigger.tool_flow", kind="trigger", title="Tool Flow Trigger", category="Triggers", uses_connection=False,
        description="Marks this flow as a tool that can be called by AI agents",
        sources=src("prismatic", "Tool Flow Trigger"),
        inputs=[
            field("input_schema", "Tool Parameters", T.JSON,
                  "JSON Schema of the parameters agents pass when they call this flow; they become the tool's "
                  "parameters and this trigger's output.",
                  default={"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}),
        ],
    ),
]
