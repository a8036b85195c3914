"""The MCP server the remote-server example expects: streamable HTTP at http://127.0.0.1:8000/mcp
(the example's URL). Prints `READY` once it listens; exits 3 when the port is taken."""

from __future__ import annotations

import asyncio
import socket
import sys

from mcp.server.mcpserver import MCPServer

PORT = 8000
server = MCPServer("example-remote-tools")


@server.tool(description="Count the words of a text.")
def word_count(text: str) -> str:
    return f"{len(text.split())} words"


@server.tool(description="Say which tools this server has.")
def list_tools_here() -> str:
    return "word_count, list_tools_here"


async def main() -> int:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", PORT))
    except OSError:
        print("PORT TAKEN", flush=True)
        return 3
    config = uvicorn.Config(server.streamable_http_app(host="127.0.0.1"), host="127.0.0.1", port=PORT,
                            log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    print("READY", flush=True)
    await uv.serve(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
