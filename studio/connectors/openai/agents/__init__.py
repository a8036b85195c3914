"""Agent nodes on the OpenAI Agents SDK. Importing this package registers their handlers with the
engine (a run waiting for approval is continued by the run service, studio/runs/resume.py)."""

from agents import set_tracing_disabled

# Runs never send traces anywhere: flows may hold private data and the key is per connection.
set_tracing_disabled(True)

from . import config, flow_tools, run  # noqa: E402,F401  (registers the handlers)

AGENT_ACTIONS = (
    "agent.create", "agent.run", "agent.resume_run", "agent.classify_and_branch",
    "agent.add_local_mcp_server", "agent.add_remote_mcp_server", "agent.create_flow_tool",
    "agent.create_human_approval_tool", "agent.create_web_search_tool", "agent.create_file_search_tool",
    "agent.create_code_interpreter_tool", "agent.create_image_generation_tool",
)

__all__ = ["AGENT_ACTIONS"]
