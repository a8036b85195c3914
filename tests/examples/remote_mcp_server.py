"""A stand-in for the reference MCP server the remote-server recipe (docs/recipes/) is written
for: the same tool names and arguments as `@modelcontextprotocol/server-everything`'s `get-sum`
and `echo`, over streamable HTTP at /mcp on 127.0.0.1 at a free port. Prints `PORT <n>` once it
listens, so tests never race for a fixed port."""

from __future__ import annotations

import asyncio
import socket
import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("recipe-remote-tools")


@server.tool(name="get-sum", description="Returns the sum of two numbers.")
def get_sum(a: float, b: float) -> str:
    total = a + b
    return f"The sum of {a:g} and {b:g} is {total:g}."


@server.tool(name="echo", description="Echoes back the input string.")
def echo(message: str) -> str:
    return f"Echo: {message}"


async def main() -> int:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(server.streamable_http_app(host="127.0.0.1"), host="127.0.0.1", log_level="warning",
                            lifespan="on")
    uv = uvicorn.Server(config)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    await uv.serve(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
