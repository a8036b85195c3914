"""Prismatic's `Agent: ...` family: agent configurations, tools, MCP servers, runs and routing."""

from studio.catalog.models import Action

from .common import T, connection, field, model, out, src

TOOLS_HELP = "List of tools available to the agent. Each tool should be the output from a Create Tool action."
MCP_HELP = "List of MCP server configurations. Each should be the output from an Add MCP Server action."
FILE_IDS_HELP = "File IDs from previously uploaded files to OpenAI. Use the Upload File action to get these IDs."
TOOL_FILTER_HELP = "List of specific tool names to expose. If empty, all tools are exposed."


def tools() -> object:
    return field("tools", "Tools", T.JSON, TOOLS_HELP, port=True, multiple=True, accepts="tool")


def mcp_servers() -> object:
    return field("mcp_servers", "MCP Servers", T.JSON, MCP_HELP, port=True, multiple=True, accepts="mcp_server")


def agent_config(description: str) -> object:
    return field("agent", "Agent Configuration", T.JSON, description, required=True, port=True, accepts="agent")


def handoff_agents(description: str) -> object:
    return field("handoff_agents", "Handoff Agents", T.JSON, description, port=True, multiple=True, accepts="agent")


def tool_name(default: str, description: str) -> object:
    return field("tool_name", "Tool Name", T.STRING, description, default=default)


def max_turns(description: str) -> object:
    return field("max_turns", "Max Turns", T.INTEGER, description, default=10, minimum=1, maximum=1000)


ACTIONS = [
    Action(
        id="agent.create", kind="agent", title="Agent: Create", category="Agents",
        description="Create an AI agent with customizable instructions.",
        sources=src("prismatic", "Agent: Create"), uses_connection=False, outputs=out("agent", "Agent", "agent"),
        inputs=[
            model(),
            field("name", "Name", T.STRING, "The name of the agent", required=True),
            field("instructions", "Instructions", T.TEXT,
                  "System instructions that define the agent's behavior and capabilities"),
            field("handoff_description", "Handoff Description", T.TEXT,
                  "Description for handoff routing. Used by other agents to understand when to hand off to this agent."),
            tools(),
            mcp_servers(),
            field("output_schema", "Output Schema", T.JSON,
                  "JSON Schema for structured output. Forces the agent to respond with data matching this schema."),
            field("output_schema_name", "Output Schema Name", T.STRING, "Name for the output schema", default="output"),
            field("output_schema_strict", "Output Schema Strict", T.BOOLEAN,
                  "If true, enforces strict schema validation", default=False),
        ],
    ),
    Action(
        id="agent.run", kind="agent", title="Agent: Run", category="Agents",
        api="Responses", endpoints=["POST /v1/responses"], description="Run an agent",
        sources=src("prismatic", "Agent: Run"),
        outputs=out(),
        inputs=[
            connection(),
            agent_config("Agent configuration object from Create Agent action"),
            field("user_input", "User Input", T.TEXT, "The message or question to send to the agent"),
            field("history", "History", T.JSON,
                  "Previous conversation history. Use this to continue a conversation from a previous run. "
                  "Should be the history array from a previous agent run result."),
            field("file_ids", "File IDs", T.STRING_LIST, FILE_IDS_HELP),
            field("previous_response_id", "Previous Response ID", T.STRING,
                  "ID of the previous response to continue the conversation. Alternative to passing full history array."),
            max_turns("Maximum number of conversation turns the agent can take. Prevents infinite loops."),
            handoff_agents("List of agent configurations that can be handed off to. Each should be the output from a "
                           "Create Agent action."),
        ],
    ),
    Action(
        id="agent.resume_run", kind="agent", title="Agent: Resume Run", category="Agents",
        api="Responses", endpoints=["POST /v1/responses"],
        description="Resume an interrupted agent run with approval decisions",
        sources=src("prismatic", "Agent: Resume Run"),
        inputs=[
            connection(),
            agent_config("Agent configuration object from Create Agent action. Should be the same configuration used "
                         "in the original run."),
            field("run_state", "Run State", T.JSON,
                  "State from the interrupted run, containing the execution context and interruptions.", required=True),
            field("approval_responses", "Approval Responses", T.JSON,
                  "Array of approval responses with updated approvalRequest objects containing functionId and "
                  "approved status.", required=True),
            max_turns("Maximum number of conversation turns the agent can take from this point. Prevents infinite loops."),
            handoff_agents("Same handoff agents configuration used in the original run, if any."),
        ],
    ),
    Action(
        id="agent.classify_and_branch", kind="agent", title="Agent: Classify and Branch", category="Agents",
        api="Responses", endpoints=["POST /v1/responses"],
        description="Use AI to analyze input and route to the appropriate branch",
        sources=src("prismatic", "Agent: Classify and Branch"), outputs=[], dynamic_outputs_from="branches",
        inputs=[
            connection(),
            model(),
            field("instructions", "Classification Instructions", T.TEXT,
                  "Additional instructions for how to classify the input"),
            field("branches", "Branch Definitions", T.KEY_VALUE,
                  "Define branches and their classification criteria. Key = branch name, Value = description of "
                  "when to use this branch", required=True),
            field("input_text", "Input Text", T.TEXT, "The text to analyze and classify (e.g., email content)",
                  required=True),
            tools(),
            mcp_servers(),
            field("file_ids", "File IDs", T.STRING_LIST, FILE_IDS_HELP),
        ],
    ),
    Action(
        id="agent.add_local_mcp_server", kind="agent", title="Agent: Add Local MCP Server", category="Agent Tools",
        description="Configure a local MCP server that runs via command line",
        sources=src("prismatic", "Agent: Add Local MCP Server"), uses_connection=False,
        outputs=out("mcp_server", "MCP Server", "mcp_server"),
        inputs=[
            field("server_label", "Server Label", T.STRING, "Unique identifier for the MCP server", required=True),
            field("command", "Command", T.STRING,
                  "Command to execute the MCP server (currently only npx is supported)", default="npx"),
            field("args", "Arguments", T.STRING_LIST, "Arguments to pass to the command"),
            field("tool_filter", "Tool Filter", T.STRING_LIST, TOOL_FILTER_HELP),
        ],
    ),
    Action(
        id="agent.add_remote_mcp_server", kind="agent", title="Agent: Add Remote MCP Server", category="Agent Tools",
        description="Configure a remote MCP server accessed via HTTP",
        sources=src("prismatic", "Agent: Add Remote MCP Server"), uses_connection=False,
        outputs=out("mcp_server", "MCP Server", "mcp_server"),
        inputs=[
            field("server_label", "Server Label", T.STRING, "Unique identifier for the MCP server", required=True),
            field("server_url", "Server URL", T.STRING, "URL endpoint for the MCP server", required=True),
            field("transport", "Transport",
                  description="How the server speaks MCP over HTTP: Streamable HTTP (the current standard, "
                              "usually a URL ending in /mcp) or the older SSE transport (Server-Sent Events, "
                              "usually a URL ending in /sse). The server's documentation says which.",
                  options=[("streamable_http", "Streamable HTTP"), ("sse", "SSE (Server-Sent Events)")],
                  default="streamable_http"),
            field("headers", "Headers", T.KEY_VALUE,
                  "HTTP headers for authentication or other needs. Key = header name, Value = header value"),
            field("tool_filter", "Tool Filter", T.STRING_LIST, TOOL_FILTER_HELP),
        ],
    ),
    Action(
        id="agent.create_flow_tool", kind="agent", title="Agent: Create Flow Tool", category="Agent Tools",
        description="Create a tool configuration that allows an agent to invoke another flow",
        sources=src("prismatic", "Agent: Create Flow Tool"), uses_connection=False, outputs=out("tool", "Tool", "tool"),
        inputs=[
            field("flow_name", "Flow Name", T.STRING, "The flow that this tool will invoke when called by an agent",
                  required=True),
            field("tool_description", "Tool Description", T.TEXT,
                  "Description that helps the agent understand when to use this tool"),
            field("strict_mode", "Strict Mode", T.BOOLEAN,
                  "If true, requires exact parameter matching. If false, allows flexibility in agent inputs.",
                  default=False),
            field("requires_approval", "Requires Approval", T.BOOLEAN,
                  "If true, the tool will require human approval before the agent can execute the flow", default=False),
        ],
    ),
    Action(
        id="agent.create_human_approval_tool", kind="agent", title="Agent: Create Human Approval Tool",
        category="Agent Tools", description="Create a tool that requires human approval before the agent can proceed",
        sources=src("prismatic", "Agent: Create Human Approval Tool"), uses_connection=False,
        outputs=out("tool", "Tool", "tool"),
        inputs=[
            tool_name("Human Approval", "Name for the approval tool"),
            field("tool_description", "Tool Description", T.TEXT,
                  "Description that helps the agent understand when to use this tool",
                  default="Request human approval before proceeding with this action"),
            field("parameters_schema", "Parameters Schema", T.JSON,
                  "Optional JSON schema for parameters the agent should provide when calling this tool. If not "
                  "provided, the tool will accept a 'reason' string parameter."),
        ],
    ),
    Action(
        id="agent.create_web_search_tool", kind="agent", title="Agent: Create Web Search Tool", category="Agent Tools",
        description="Create a web search tool that allows agents to search the web",
        sources=src("prismatic", "Agent: Create Web Search Tool"), uses_connection=False,
        outputs=out("tool", "Tool", "tool"),
        inputs=[
            tool_name("Web Search", "Custom name for the web search tool"),
            field("search_context_size", "Search Context Size", description="Amount of context to return from searches",
                  options=["low", "medium", "high"], default="medium"),
            field("user_city", "User City", T.STRING, "City for location-aware searches"),
            field("user_country", "User Country", T.STRING, "Country for location-aware searches"),
            field("user_region", "User Region", T.STRING, "Region/state for location-aware searches"),
            field("user_timezone", "User Timezone", T.STRING,
                  "Timezone for time-sensitive searches (e.g., 'America/New_York')"),
        ],
    ),
    Action(
        id="agent.create_file_search_tool", kind="agent", title="Agent: Create File Search Tool", category="Agent Tools",
        description="Create a file search tool that searches through vector stores",
        sources=src("prismatic", "Agent: Create File Search Tool"), uses_connection=False,
        outputs=out("tool", "Tool", "tool"),
        inputs=[
            tool_name("File Search", "Custom name for the file search tool"),
            field("vector_store_ids", "Vector Store IDs", T.STRING_LIST,
                  "Comma-separated list of vector store IDs to search", required=True),
            field("max_results", "Max Results", T.INTEGER, "Maximum number of results to return", minimum=1, maximum=50),
            field("include_search_results", "Include Search Results", T.BOOLEAN,
                  "Include search results in the LLM output", default=True),
            field("ranking_algorithm", "Ranking Algorithm", T.STRING, "Algorithm for ranking search results",
                  placeholder="auto"),
            field("score_threshold", "Score Threshold", T.NUMBER, "Minimum score threshold for results (0-1)",
                  minimum=0, maximum=1),
        ],
    ),
    Action(
        id="agent.create_code_interpreter_tool", kind="agent", title="Agent: Create Code Interpreter Tool",
        category="Agent Tools", description="Create a code interpreter tool that allows agents to execute Python code",
        sources=src("prismatic", "Agent: Create Code Interpreter Tool"), uses_connection=False,
        outputs=out("tool", "Tool", "tool"),
        inputs=[
            tool_name("Code Interpreter", "Custom name for the code interpreter tool"),
            field("container_type", "Container Type", description="Container type for code execution",
                  options=["auto", "specific"], default="auto"),
            field("container_id", "Container ID", T.STRING,
                  "Specific container ID (only used if containerType is 'specific')"),
            field("file_ids", "File IDs", T.STRING_LIST, "Comma-separated list of file IDs to include in the container"),
        ],
    ),
    Action(
        id="agent.create_image_generation_tool", kind="agent", title="Agent: Create Image Generation Tool",
        category="Agent Tools", description="Create an image generation tool that allows agents to generate images",
        sources=src("prismatic", "Agent: Create Image Generation Tool"), uses_connection=False,
        outputs=out("tool", "Tool", "tool"),
        inputs=[
            tool_name("Image Generation", "Custom name for the image generation tool"),
            field("background", "Background", description="Background type for generated images",
                  options=["auto", "transparent", "opaque"], default="auto"),
            field("input_fidelity", "Input Fidelity", description="Input fidelity level", options=["low", "high"]),
            field("model", "Model", T.MODEL, "Model to use for generation", default="gpt-image-1"),
            field("moderation", "Moderation", description="Moderation level for content filtering",
                  options=["auto", "low"], default="auto"),
            field("output_compression", "Output Compression", T.INTEGER,
                  "Compression level 0-100 (higher = more compression)", minimum=0, maximum=100),
            field("output_format", "Output Format", description="Image output format",
                  options=["png", "webp", "jpeg"], default="png"),
            field("partial_images", "Partial Images", T.INTEGER, "Number of partial images to generate",
                  minimum=0, maximum=3),
            field("quality", "Quality", description="Quality level for generated images",
                  options=["auto", "low", "medium", "high"], default="auto"),
            field("size", "Size", description="Image dimensions",
                  options=["auto", "1024x1024", "1024x1536", "1536x1024"], default="auto"),
        ],
    ),
]
