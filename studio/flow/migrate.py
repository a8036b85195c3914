"""Upgrading older flow documents to the format this build writes.

Each step takes a document of version N to N+1 and is kept forever, so a file from any older
build opens. Version 0 is the shape before the format settled (see docs/flow-format.md):

    {"format_version": 0, "title": "...", "nodes": [{"id", "type", "label", "params",
     "position": [x, y]}], "edges": [{"source", "sourceHandle", "target", "targetHandle"}]}

A document without `format_version` is version 1, unless it has `edges` (then it is version 0)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import FlowLoadError, show_value
from .models import FORMAT_VERSION

__all__ = ["MIGRATIONS", "document_version", "migrate"]


def document_version(data: dict[str, Any]) -> int:
    """The format version a document says it has (FlowLoadError when it is not a version)."""
    if "format_version" not in data:
        return 0 if "edges" in data and "wires" not in data else FORMAT_VERSION
    version = data["format_version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise FlowLoadError(f"got {show_value(version)}", path="format_version",
                            expected=f"a whole number from 0 to {FORMAT_VERSION}")
    if version < 0:
        raise FlowLoadError(f"got {version}", path="format_version",
                            expected=f"a whole number from 0 to {FORMAT_VERSION}")
    if version > FORMAT_VERSION:
        raise FlowLoadError(
            f"made by a newer Flow Studio (format {version}; this build reads up to {FORMAT_VERSION}); "
            "update Flow Studio to open it",
            path="format_version",
        )
    return version


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """`data` upgraded to FORMAT_VERSION (a new dict; `data` is not changed). FlowLoadError when
    the document is from a newer build or too broken to upgrade."""
    if not isinstance(data, dict):
        raise FlowLoadError(f"the document is {show_value(data)}",
                            expected="a JSON object with format_version, nodes and wires")
    version = document_version(data)
    while version < FORMAT_VERSION:
        data = MIGRATIONS[version](data)
        version += 1
        data["format_version"] = version
    return data


# --- 0 -> 1 ------------------------------------------------------------------------------------


def _need(cond: bool, path: str, got: Any, expected: str) -> None:
    if not cond:
        raise FlowLoadError(f"got {show_value(got)} (format 0 document)", path=path, expected=expected)


def _v0_node(node: Any, i: int) -> Any:
    if not isinstance(node, dict):
        return node  # the models report it with its path
    out = {k: v for k, v in node.items() if k not in ("type", "label", "params")}
    if "type" in node:
        out.setdefault("action", node["type"])
    if "label" in node:
        out.setdefault("name", node["label"])
    if "params" in node:
        out.setdefault("values", node["params"])
    pos = node.get("position")
    if isinstance(pos, list):
        _need(len(pos) == 2, f"nodes[{i}].position", pos, "a list [x, y]")
        out["position"] = {"x": pos[0], "y": pos[1]}
    return out


def _v0_edge(edge: Any, i: int) -> dict[str, Any]:
    _need(isinstance(edge, dict), f"edges[{i}]", edge, "an object with source, target and their handles")
    for key in ("source", "target"):
        _need(isinstance(edge.get(key), str), f"edges[{i}].{key}", edge.get(key), "a node id")
    for key in ("sourceHandle", "targetHandle"):
        value = edge.get(key)
        _need(value is None or isinstance(value, str), f"edges[{i}].{key}", value, "a port key")
    return {
        "source": {"node": edge["source"], "port": edge.get("sourceHandle") or "output"},
        "target": {"node": edge["target"], "port": edge.get("targetHandle") or "in"},
    }


def _v0_to_v1(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k not in ("edges", "title")}
    if "title" in data:
        out.setdefault("name", data["title"])
    nodes = data.get("nodes", [])
    if isinstance(nodes, list):
        out["nodes"] = [_v0_node(n, i) for i, n in enumerate(nodes)]
    edges = data.get("edges", [])
    _need(isinstance(edges, list), "edges", edges, "a list of edges")
    out["wires"] = list(data.get("wires") or []) + [_v0_edge(e, i) for i, e in enumerate(edges)]
    return out


# --- 1 -> 2: test cases ---------------------------------------------------------------------------


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Format 2 adds the `tests` list (stored test cases); a format 1 file has none yet."""
    out = dict(data)
    out.setdefault("tests", [])
    return out


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _v0_to_v1, 1: _v1_to_v2}
