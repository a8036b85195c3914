"""The Assistants API family (assistants, threads, messages, run steps) and fine-tuning jobs.

OpenAI has put the Assistants API on a retirement path; these nodes follow its published schema
and say which node to use instead."""

from studio.catalog.models import Action, Input

from .common import T, connection, field, model, simplify, src, timeout

DEPRECATED = ("The Assistants API is being retired by OpenAI: use Create Response, or Agent: Create with "
              "Agent: Run, for new flows.")

ASSISTANT_ID_HELP = "Select the assistant: its ID (asst_...)."
TEMPERATURE = dict(aliases=("Output Randomness (Temperature)",), minimum=0, maximum=2)
TOP_P = dict(aliases=("Output Randomness (Top P)",), minimum=0, maximum=1)


def assistant_id(description: str = ASSISTANT_ID_HELP) -> Input:
    return field("assistant_id", "Assistant", T.STRING, description, aliases=("assistant_id",), required=True)


def thread_id(description: str) -> Input:
    return field("thread_id", "Thread ID", T.STRING, description, aliases=("thread_id",), required=True)


def metadata(description: str = "Arbitrary JSON metadata to attach (up to 16 key-value pairs).") -> Input:
    return field("metadata", "Metadata", T.KEY_VALUE, description, aliases=("metadata",))


def assistant_fields(*, required_model: bool) -> list[Input]:
    return [
        model(None, description="ID of the model to use for this assistant", required=required_model,
              aliases=("model",)),
        field("name", "Name", T.STRING, "The name of the assistant. The maximum length is 256 characters.",
              aliases=("name",)),
        field("description", "Description", T.TEXT,
              "The description of the assistant. The maximum length is 512 characters.", aliases=("description",)),
        field("instructions", "Instructions", T.TEXT,
              "The system instructions that the assistant uses. The maximum length is 32,768 characters.",
              aliases=("instructions",)),
        field("code_interpreter", "Code Interpreter", T.BOOLEAN,
              "Turn on to enable the code interpreter for the assistant.", default=False),
        field("knowledge_retrieval", "Knowledge Retrieval", T.BOOLEAN,
              "Turn on to enable knowledge retrieval (file search) for the assistant.", default=False),
        field("file_ids", "Files", T.STRING_LIST, "A list of file IDs attached to this assistant.",
              aliases=("File ids", "file_ids")),
        field("tools", "Tools", T.JSON, "A list of tool enabled on the assistant.", aliases=("tools",)),
        metadata("Set of 16 key-value pairs that can be attached to an object."),
        field("temperature", "Temperature", T.NUMBER, "Randomness of the response, 0 to 2.", default=1.0,
              group="Options", **TEMPERATURE),
        field("top_p", "Top P", T.NUMBER, "Nucleus sampling, 0 to 1.", default=1.0, group="Options", **TOP_P),
    ]


ACTIONS = [
    Action(
        id="assistant.create", kind="action", title="Create Assistant", category="Assistants",
        api="Assistants", endpoints=["POST /v1/assistants"],
        description="Create an assistant with a model and instructions.", deprecated=DEPRECATED,
        sources=src("bytechef", "Create assistant") + src("composio", "Create Assistant")
        + src("n8n", "Assistant: Create an Assistant"),
        inputs=[connection(), *assistant_fields(required_model=True),
                field("fail_if_exists", "Fail if Assistant Already Exists", T.BOOLEAN,
                      "If enabled, the operation will fail if an assistant with the same name already exists.",
                      default=False, group="Options"),
                timeout()],
    ),
    Action(
        id="assistant.list", kind="action", title="List Assistants", category="Assistants",
        api="Assistants", endpoints=["GET /v1/assistants"],
        description="List assistants in an organization", deprecated=DEPRECATED,
        sources=src("n8n", "Assistant: List Assistants"),
        inputs=[connection(), simplify(True), timeout()],
    ),
    Action(
        id="assistant.retrieve", kind="action", title="Retrieve Assistant", category="Assistants",
        api="Assistants", endpoints=["GET /v1/assistants/{assistant_id}"],
        description="Retrieve details of a specific assistant", deprecated=DEPRECATED,
        sources=src("composio", "Retrieve assistant"),
        inputs=[connection(), assistant_id("Identifier of the assistant to retrieve"), timeout()],
    ),
    Action(
        id="assistant.update", kind="action", title="Update Assistant", category="Assistants",
        api="Assistants", endpoints=["POST /v1/assistants/{assistant_id}"],
        description="Change an existing assistant", deprecated=DEPRECATED,
        sources=src("n8n", "Assistant: Update an Assistant"),
        inputs=[connection(), assistant_id("Select the assistant you want to update."),
                *assistant_fields(required_model=False),
                field("remove_custom_tools", "Remove All Custom Tools (Functions)", T.BOOLEAN,
                      "Turn on to remove all custom tools (functions) from the assistant.", default=False,
                      group="Options"),
                timeout()],
    ),
    Action(
        id="assistant.delete", kind="action", title="Delete Assistant", category="Assistants",
        api="Assistants", endpoints=["DELETE /v1/assistants/{assistant_id}"],
        description="Delete an assistant from the account", deprecated=DEPRECATED,
        sources=src("composio", "Delete assistant") + src("n8n", "Assistant: Delete an Assistant"),
        inputs=[connection(), assistant_id("Select the assistant you want to delete (its ID)."), timeout()],
    ),
    Action(
        id="assistant.message", kind="action", title="Message an Assistant", category="Assistants",
        api="Assistants", endpoints=["POST /v1/threads", "POST /v1/threads/{thread_id}/messages",
                                     "POST /v1/threads/{thread_id}/runs", "GET /v1/threads/{thread_id}/runs/{run_id}",
                                     "GET /v1/threads/{thread_id}/messages"],
        description="Send a message to an assistant and wait for its reply (thread, message, run).",
        deprecated=DEPRECATED, sources=src("n8n", "Assistant: Message an Assistant"),
        inputs=[
            field("connection", "Connection", T.CONNECTION,
                  "Connection to OpenAI API with your API key. Its Base URL and Max Retries apply to this node.",
                  aliases=("OpenAI Connection", "Credential to connect with", "Base URL", "Max Retries")),
            assistant_id("Select the assistant you want to message."),
            field("prompt", "Prompt", T.TEXT,
                  "The text prompt or message to send to the assistant. Leave empty to take the previous node's "
                  "`chatInput` field automatically.", aliases=("Take from Previous Node Automatically",
                                                                "Define Below")),
            field("thread_id", "Thread ID", T.STRING, "Continue an existing thread instead of starting a new one."),
            field("preserve_original_tools", "Preserve Original Tools", T.BOOLEAN,
                  "Turn off to remove the original tools associated with the assistant for this run.", default=True,
                  group="Options"),
            field("timeout_ms", "Timeout (ms)", T.INTEGER,
                  "The maximum amount of time, in milliseconds, to wait for a response before timing out. "
                  "0 (the default): no overall limit, only the connection's own timeouts.",
                  aliases=("Timeout",), default=0, minimum=0, group="Advanced"),
        ],
    ),
    Action(
        id="thread.create", kind="action", title="Create Thread", category="Assistants",
        api="Assistants", endpoints=["POST /v1/threads"],
        description="Create a new thread, optionally with starter messages", deprecated=DEPRECATED,
        sources=src("composio", "Create Thread"),
        inputs=[connection(),
                field("messages", "Messages", T.JSON, "Optional initial messages to start the thread with",
                      aliases=("messages",)),
                metadata("Optional metadata key-value pairs to attach to the thread"), timeout()],
    ),
    Action(
        id="thread.retrieve", kind="action", title="Retrieve Thread", category="Assistants",
        api="Assistants", endpoints=["GET /v1/threads/{thread_id}"],
        description="Retrieve details of a specific thread", deprecated=DEPRECATED,
        sources=src("composio", "Retrieve thread"),
        inputs=[connection(), thread_id("Identifier of the thread to retrieve"), timeout()],
    ),
    Action(
        id="thread.modify", kind="action", title="Modify Thread", category="Assistants",
        api="Assistants", endpoints=["POST /v1/threads/{thread_id}"],
        description="Modify an existing thread's metadata", deprecated=DEPRECATED,
        sources=src("composio", "Modify thread"),
        inputs=[connection(), thread_id("ID of the thread to modify"),
                metadata("Arbitrary JSON metadata to attach to the thread"), timeout()],
    ),
    Action(
        id="message.create", kind="action", title="Create Message", category="Assistants",
        api="Assistants", endpoints=["POST /v1/threads/{thread_id}/messages"],
        description="Create a new message in a thread", deprecated=DEPRECATED,
        sources=src("composio", "Create Message"),
        inputs=[connection(), thread_id("ID of the thread to create the message in"),
                field("role", "Role", description="Role of the message sender: 'user' or 'assistant'",
                      aliases=("role",), options=["user", "assistant"], default="user", required=True),
                field("content", "Content", T.TEXT, "Message content as a string or list of structured parts",
                      aliases=("content",), required=True),
                field("attachments", "Attachments", T.JSON, "Optional files to attach to the message",
                      aliases=("attachments",)),
                metadata("Up to 16 key-value pairs of metadata (keys ≤64 chars, values ≤512 chars)"), timeout()],
    ),
    Action(
        id="run_step.list", kind="action", title="List Run Steps", category="Assistants",
        api="Assistants", endpoints=["GET /v1/threads/{thread_id}/runs/{run_id}/steps"],
        description="Retrieve all steps of a run", deprecated=DEPRECATED, sources=src("composio", "List run steps"),
        inputs=[connection(), thread_id("ID of the thread that the run belongs to"),
                field("run_id", "Run ID", T.STRING, "ID of the run to list steps for", aliases=("run_id",),
                      required=True),
                field("limit", "Limit", T.INTEGER, "Maximum number of steps to return (1-100)", aliases=("limit",),
                      minimum=1, maximum=100),
                field("order", "Order", description="Sort order by step creation time", aliases=("order",),
                      options=["asc", "desc"]),
                field("after", "After", T.STRING, "Return steps after this step ID", aliases=("after",)),
                field("before", "Before", T.STRING, "Return steps before this step ID", aliases=("before",)),
                field("include", "Include", T.STRING_LIST,
                      "Additional fields to include in the response. Supported value: "
                      "'step_details.tool_calls[*].file_search.results[*].content'", aliases=("include[]",)),
                timeout()],
    ),
    Action(
        id="fine_tuning.list_jobs", kind="action", title="List Fine-tuning Jobs", category="Fine-tuning",
        api="Fine-tuning", endpoints=["GET /v1/fine_tuning/jobs"],
        description="List your organization's fine-tuning jobs", sources=src("composio", "List fine-tunes"),
        inputs=[connection(), timeout()],
    ),
]
