"""The Responses API: Create Response with OpenAI's built-in tools, stored prompts, conversation
state, reasoning, background mode and structured output; Retrieve and Cancel Response."""

from studio.catalog.models import Action

from .common import T, connection, field, model, simplify, src, timeout
from .text import USER_HELP, stream

API = "Responses"
INCLUDE_VALUES = ("web_search_call.action.sources, code_interpreter_call.outputs, "
                  "computer_call_output.output.image_url, file_search_call.results, message.input_image.image_url, "
                  "message.output_text.logprobs, reasoning.encrypted_content")


def polling(what: str, wait_default: int = 600) -> list:
    """How often to look at a long-running object and how long to wait for it."""
    return [
        field("poll_interval_ms", "Poll Interval (ms)", T.INTEGER, f"How often to ask for the {what}'s status.",
              default=1000, minimum=20, group="Waiting"),
        field("max_wait_s", "Max Wait (s)", T.NUMBER,
              f"Give up (and cancel the {what} when it can be) after this many seconds.", default=wait_default,
              minimum=0.01, group="Waiting"),
    ]


def tool_inputs() -> list:
    group = "Built-in Tools"
    return [
        field("web_search", "Web Search", T.BOOLEAN, "Let the model search the web (web_search tool).",
              default=False, group=group),
        field("web_search_context_size", "Web Search Context Size", description="How much context search gathers.",
              options=["low", "medium", "high"], group=group),
        field("file_search_vector_store_ids", "File Search Vector Store IDs", T.STRING_LIST,
              "Search these vector stores (file_search tool); empty: no file search.", group=group),
        field("file_search_max_results", "File Search Max Results", T.INTEGER, "1 to 50 results per search.",
              minimum=1, maximum=50, group=group),
        field("code_interpreter", "Code Interpreter", T.BOOLEAN,
              "Let the model run Python in a container OpenAI creates (code_interpreter tool).", default=False,
              group=group),
        field("image_generation", "Image Generation", T.BOOLEAN,
              "Let the model generate images (image_generation tool; results come back as base64).", default=False,
              group=group),
        field("image_generation_quality", "Image Quality", options=["low", "medium", "high", "auto"], group=group),
        field("image_generation_size", "Image Size", options=["1024x1024", "1024x1536", "1536x1024", "auto"],
              group=group),
        field("mcp_server_label", "MCP Server Label", T.STRING, "A name for the remote MCP server (mcp tool).",
              group=group),
        field("mcp_server_url", "MCP Server URL", T.STRING,
              "The remote MCP server OpenAI calls (the call goes from OpenAI, not from this computer).", group=group),
        field("mcp_require_approval", "MCP Approval", description="Whether each MCP call waits for approval: "
              "an approval request comes back in the output; approve it with 'Approve MCP Requests' on the next "
              "response (with 'Previous Response ID').", options=["always", "never"], default="always", group=group),
        field("mcp_allowed_tools", "MCP Allowed Tools", T.STRING_LIST, "Only these tools of the server.", group=group),
        field("mcp_approve", "Approve MCP Requests", T.STRING_LIST, "Approval request ids (mcpr_...) to approve.",
              group=group),
        field("mcp_deny", "Deny MCP Requests", T.STRING_LIST, "Approval request ids to deny.", group=group),
        field("computer_use", "Computer Use", T.BOOLEAN,
              "Declare the computer_use_preview tool: the model answers with computer_call actions (click, type, "
              "screenshot) for your flow to carry out; nothing is clicked by this node.", default=False, group=group),
        field("computer_environment", "Computer Environment", options=["browser", "mac", "windows", "ubuntu"],
              default="browser", group=group),
        field("computer_display_width", "Display Width", T.INTEGER, "Screen width in pixels.", default=1024,
              minimum=1, group=group),
        field("computer_display_height", "Display Height", T.INTEGER, "Screen height in pixels.", default=768,
              minimum=1, group=group),
    ]


ACTIONS = [
    Action(
        id="responses.create", kind="action", title="Create Response", category="Responses", api=API,
        endpoints=["POST /v1/responses", "GET /v1/responses/{response_id}", "POST /v1/responses/{response_id}/cancel"],
        description="Create a model response: text or input items, a stored prompt, OpenAI's built-in tools, "
                    "reasoning, structured output; streamed, or in background mode polled until done.",
        sources=src("prismatic", "Create Response"),
        inputs=[
            connection(),
            model("gpt-4.1"),
            field("input", "Input", T.TEXT, "The input text, or a JSON list of input items. May be empty when a "
                  "stored prompt carries the input."),
            field("instructions", "Instructions", T.TEXT, "A system (or developer) message for the model."),
            field("prompt_id", "Prompt ID", T.STRING, "A stored prompt (pmpt_...) made in OpenAI's dashboard; clear "
                  "Model to use the prompt's own model.",
                  group="Stored Prompt"),
            field("prompt_version", "Prompt Version", T.STRING, "Its version (empty: the current one).",
                  group="Stored Prompt"),
            field("prompt_variables", "Prompt Variables", T.KEY_VALUE, "Values for the prompt's {{variables}}.",
                  group="Stored Prompt"),
            field("conversation_id", "Conversation ID", T.STRING,
                  "Add this turn to a conversation (conv_...); its items are the context.", group="Conversation"),
            field("previous_response_id", "Previous Response ID", T.STRING,
                  "Continue from an earlier response instead (not with a conversation).", group="Conversation"),
            *tool_inputs(),
            field("tools", "Tools", T.JSON, "More tools as Responses tool objects (function tools ...).",
                  group="Options"),
            field("tool_choice", "Tool Choice", description="Whether the model must, may or may not call tools.",
                  options=["auto", "required", "none"], group="Options"),
            field("reasoning_effort", "Reasoning Effort", description="For reasoning models (gpt-5, o-series).",
                  options=["minimal", "low", "medium", "high"], group="Options"),
            field("reasoning_summary", "Reasoning Summary", description="Ask for a summary of the reasoning.",
                  options=["auto", "concise", "detailed"], group="Options"),
            field("verbosity", "Verbosity", description="How long the answer is (gpt-5).",
                  options=["low", "medium", "high"], group="Options"),
            field("service_tier", "Service Tier", description="Processing tier: flex is cheaper and slower.",
                  options=["auto", "default", "flex", "priority"], group="Options"),
            field("store", "Store", T.BOOLEAN, "Whether OpenAI stores the response (needed by background mode "
                  "and Previous Response ID).", group="Options"),
            field("truncation", "Truncation", description="auto drops old context that does not fit; disabled fails.",
                  options=["auto", "disabled"], group="Options"),
            field("include", "Include", T.STRING_LIST, f"Extra output to include: {INCLUDE_VALUES}.",
                  group="Options"),
            field("prompt_cache_key", "Prompt Cache Key", T.STRING, "Groups similar requests for prompt caching.",
                  group="Options"),
            field("temperature", "Temperature", T.NUMBER, "Sampling temperature between 0 and 2.", minimum=0,
                  maximum=2, group="Options"),
            field("max_output_tokens", "Max Output Tokens", T.INTEGER, "Upper bound on generated tokens.", minimum=1,
                  group="Options"),
            field("metadata", "Metadata", T.KEY_VALUE, "Up to 16 key-value pairs attached to the response.",
                  group="Options"),
            field("user", "User", T.STRING, USER_HELP, group="Options"),
            field("output_schema", "Output Schema", T.JSON, "A JSON schema the answer must follow (structured output).",
                  group="Structured Output"),
            field("output_schema_name", "Schema Name", T.STRING, "The schema's name.", default="output",
                  group="Structured Output"),
            field("output_schema_strict", "Strict", T.BOOLEAN, "Enforce the schema exactly (strict mode).",
                  default=True, group="Structured Output"),
            field("json_output", "JSON Output", T.BOOLEAN, "Any JSON object, without a schema.", default=False,
                  group="Structured Output"),
            field("background", "Background", T.BOOLEAN, "Run in background mode: start the response, then poll it "
                  "until done (for long reasoning); Stream is not used then.", default=False, group="Waiting"),
            *polling("response"),
            simplify(False),
            stream(),
            timeout(),
        ],
    ),
    Action(
        id="responses.retrieve", kind="action", title="Retrieve Response", category="Responses", api=API,
        endpoints=["GET /v1/responses/{response_id}"], description="Get a stored response (and its status).",
        inputs=[connection(), field("response_id", "Response ID", T.STRING, "The response (resp_...).", required=True),
                timeout()],
    ),
    Action(
        id="responses.cancel", kind="action", title="Cancel Response", category="Responses", api=API,
        endpoints=["POST /v1/responses/{response_id}/cancel"], description="Cancel a background response.",
        inputs=[connection(), field("response_id", "Response ID", T.STRING, "The response (resp_...).", required=True),
                timeout()],
    ),
]
