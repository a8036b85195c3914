"""What a flow could do on this machine beyond calling its OpenAI connection: start a program,
read a file outside its own folder, contact another host, open a port.

A flow file from someone else is data, so one analysis of the document decides all of it, and
every place that could act on it asks the same analysis: validation (`studio validate`, the
editor's Problems), the trust prompt (`studio run --trust`, `studio serve`, the editor's dialog)
and the handlers that would start, read or connect (through a `Grant` the executor hands them).

The rules:
- A program is started only by an Add Local MCP Server node whose command and arguments are
  written out in the file. Any other source of a program (an expression, literal server JSON in
  Agent: Create, a webhook body, a model's answer) is refused here and again when the node runs.
- A host other than the connection's is contacted only by an Add Remote MCP Server node whose
  server address (scheme, host, port) is written out, or by an HTTP Request node whose URL writes
  out its scheme, host and port; an expression may fill only what follows.
- A file is read without asking only inside the flow's folder (and the run's own artifacts).
  A path written in the file that points elsewhere is listed for trust; a path that comes from an
  expression is checked when the node runs. A text value is never taken for a path.
- A Webhook trigger opens a port.
What needs trust is remembered by the file's SHA-256 (credentials/trust.py)."""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, Iterable
from urllib.parse import urlsplit

from .errors import Problem, clip

if TYPE_CHECKING:  # pragma: no cover
    from studio.catalog.catalog import Catalog
    from studio.flow.models import Flow, Node

LOCAL_MCP = "agent.add_local_mcp_server"
REMOTE_MCP = "agent.add_remote_mcp_server"
HTTP_REQUEST = "http.request"
WEBHOOK = "trigger.webhook"
DEFAULT_COMMAND = "npx"

# Inputs whose values may name a file on this machine, by action (besides every FILE-typed input):
# the vision node's image list (URLs or paths) and Raw Request's multipart files.
FILE_INPUTS: dict[str, tuple[str, ...]] = {
    "image.analyze": ("images",),
    "raw.request": ("file_data",),
    "http.request": ("body",),
}
# Inputs that carry MCP server configurations (normally wires from the Add ... MCP Server nodes).
SERVER_INPUTS = ("mcp_servers",)

PROCESS, FILE, HOST, PORT = "process", "file", "host", "port"


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def needs_trust(flow: "Flow", catalog: "Catalog | None" = None, flow_dir: Any = None, *,
                listens: bool = True) -> list[str]:
    """One sentence per thing the flow would do that needs the user's trust; empty if none.
    `listens=False`: for a runner that never opens the webhook's port (a queue worker runs the
    payload `studio serve --queue` received, which holds the port with its own trust)."""
    items = analyse(flow, catalog, flow_dir).items
    return [item.sentence() for item in items if listens or item.kind != PORT]


def _has_expression(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" in value
    if isinstance(value, dict):
        return any(_has_expression(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_expression(v) for v in value)
    return False


@dataclass(frozen=True)
class Capability:
    """One thing the flow would do on this machine, as the trust prompt lists it."""

    kind: str  # PROCESS | FILE | HOST | PORT
    node_id: str
    node_name: str
    node_title: str
    field: str  # input key
    label: str  # input label
    target: str  # program line, absolute path, origin, or "METHOD /path"
    command: str = ""
    args: tuple[str, ...] = ()
    written: str = ""  # the value as written when it holds expressions (host URLs)

    @property
    def command_line(self) -> str:
        return shlex.join([self.command, *self.args]) if self.command else ""

    def sentence(self) -> str:
        who = f"node '{self.node_name}' ({self.node_title})"
        if self.kind == PROCESS:
            return f"{who} would start a local process: {self.command_line}"
        if self.kind == FILE:
            return f"{who} would read a file outside the flow's folder ('{self.label}'): {self.target}"
        if self.kind == HOST:
            shown = f" (written as {clip(self.written, 200)})" if self.written else ""
            return f"{who} would connect to {self.target}{shown}"
        return f"{who} would open a local port and accept HTTP requests for {self.target}"


@dataclass
class FlowCapabilities:
    """The analysis of one flow: what it would do (`items`) and what it may never do (`problems`,
    in validation's terms: a JSON path and a message naming the node and field)."""

    items: list[Capability] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def reasons(self) -> list[str]:
        return [item.sentence() for item in self.items]

    def of_kind(self, kind: str) -> list[Capability]:
        return [item for item in self.items if item.kind == kind]

    def processes(self) -> set[tuple[str, tuple[str, ...]]]:
        return {(item.command, item.args) for item in self.of_kind(PROCESS)}

    def origins(self) -> set[str]:
        return {item.target for item in self.of_kind(HOST)}

    def files(self) -> set[str]:
        return {item.target for item in self.of_kind(FILE)}


# --- reading values -------------------------------------------------------------------------------


def arg_list(value: Any) -> list[str]:
    """Arguments as the Add Local MCP Server handler reads them (a list, or lines / commas)."""
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return [str(a).strip() for a in value if a is not None and str(a).strip()]
    text = str(value).strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return [str(a).strip() for a in parsed if str(a).strip()]
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL, lower-cased; None when it has none."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = 443 if parts.scheme.lower() == "https" else 80
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port and port != default else "")


def written_origin(template: str) -> str | None:
    """The origin written out before the first expression of a URL template, or None when an
    expression could change the host (it starts before the path)."""
    head, sep, _ = template.partition("{{")
    if not sep:
        return origin_of(template)
    rest = head.split("://", 1)
    if len(rest) != 2 or not any(c in rest[1] for c in "/?#"):
        return None  # the expression is inside scheme, host or port
    cut = min(i for i in (rest[1].find(c) for c in "/?#") if i >= 0)
    return origin_of(f"{rest[0]}://{rest[1][:cut]}")


def _file_paths(action_id: str, key: str, value: Any, values: dict[str, Any]) -> Iterable[str]:
    """The local paths a literal value names (text given as content is not a path)."""
    if action_id == "file.upload" and key == "file" and isinstance(value, str) and values.get("file_is_text"):
        return []
    if action_id == "http.request":  # multipart fields: text is content, {"path": ...} names a file
        if values.get("body_type") != "multipart":
            return []
        found = (_decoded(v) for v in _pair_values(value))
        return [str(v["path"]) for v in found if isinstance(v, dict) and "path" in v]
    if action_id == "raw.request":  # text values are the file's content; objects name files
        found = (_decoded(v) for v in _pair_values(value))
        return [str(v["path"]) for v in found if isinstance(v, dict) and "path" in v]
    if action_id == "image.analyze":
        items = value if isinstance(value, list) else arg_list(value)
        return [p for p in (_path_of(item) for item in items) if p]
    path = _path_of(value)
    return [path] if path else []


def _decoded(value: Any) -> Any:
    """JSON text of an object read back (a key/value list keeps nested objects as text)."""
    return _json_or(value) if isinstance(value, str) and value.lstrip().startswith("{") else value


def _pair_values(value: Any) -> list[Any]:
    """The values of a key/value input: an object, a list of {key, value}, or JSON text of either."""
    if isinstance(value, str):
        value = _json_or(value)
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return [item.get("value") for item in value if isinstance(item, dict)]
    return []


def _json_or(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _path_of(value: Any) -> str | None:
    if isinstance(value, dict):
        return str(value["path"]) if "path" in value else None
    if isinstance(value, str):
        text = value.strip()
        if not text or text.startswith(("http://", "https://", "data:")):
            return None
        decoded = _decoded(text)
        return _path_of(decoded) if isinstance(decoded, dict) else text
    return None


def resolve_path(path: str, flow_dir: str | os.PathLike[str] | None) -> Path:
    """Where a path written in a flow points: relative to the flow's folder, `~` expanded."""
    target = Path(os.path.expanduser(path))
    if not target.is_absolute():
        target = Path(flow_dir or ".") / target
    return Path(os.path.abspath(target))


def inside(path: Path, root: Path) -> bool:
    """True when `path` (after resolving symbolic links) is `root` or below it."""
    try:
        real, base = Path(os.path.realpath(path)), Path(os.path.realpath(root))
    except (OSError, ValueError):
        return False
    return real == base or base in real.parents


def _outside_folder(path: str, flow_dir: str | os.PathLike[str] | None) -> str | None:
    """The absolute path when `path` leaves the flow's folder, else None."""
    if flow_dir is None:  # no folder known: judge by the text
        pure = PurePath(os.path.expanduser(path))
        if pure.is_absolute() or ".." in pure.parts:
            return str(pure)
        return None
    target = resolve_path(path, flow_dir)
    return None if inside(target, Path(flow_dir)) else os.path.realpath(target)  # where a link leads


# --- the analysis ---------------------------------------------------------------------------------


def analyse(flow: "Flow", catalog: "Catalog | None" = None, flow_dir: str | os.PathLike[str] | None = None
            ) -> FlowCapabilities:
    """Every capability of the flow's enabled nodes and every way of reaching one that is refused."""
    result = FlowCapabilities()
    file_keys: dict[str, list[str]] = {}  # by action: the same for every node of it
    for index, node in enumerate(flow.nodes):
        if node.disabled or not node.values and node.action not in _ACTIONS_WITH_REACH:
            continue  # every check below reads the node's values, except for these four actions
        action = catalog.get(node.action) if catalog is not None and node.action in catalog else None
        title = action.title if action is not None else node.action

        def label(key: str) -> str:
            if action is not None:
                try:
                    return action.input(key).label
                except KeyError:
                    pass
            return key

        def refuse(key: str, message: str) -> None:
            result.problems.append(Problem(f"nodes[{index}].values.{key}", f"{node.name}: '{label(key)}' {message}"))

        def item(kind: str, key: str, target: str, **extra: Any) -> Capability:
            return Capability(kind, node.id, node.name, title, key, label(key), target, **extra)

        if node.action == LOCAL_MCP:
            _local_process(node, item, refuse, result)
        elif node.action == REMOTE_MCP:
            _remote_host(node, item, refuse, result, "server_url", "the server's address (scheme, host and port)")
        elif node.action == HTTP_REQUEST:
            _remote_host(node, item, refuse, result, "url", "the URL's scheme, host and port")
        elif node.action == WEBHOOK:
            method = str(node.values.get("method") or "POST").upper()
            path = "/" + str(node.values.get("path") or flow.id).strip().strip("/")
            result.items.append(item(PORT, "path", f"{method} {path}"))
        for key in SERVER_INPUTS:
            value = node.values.get(key)
            if value not in (None, "", []) and not is_expression(value) and _literal_servers(value):
                refuse(key, "holds an MCP server written as JSON; servers come from Add Local MCP Server or "
                       "Add Remote MCP Server nodes wired to this input (so what they start or contact is "
                       "shown before the flow runs)")
        keys = file_keys.get(node.action)
        if keys is None:
            keys = file_keys[node.action] = _file_keys(node.action, action)
        for key in keys:
            value = node.values.get(key)
            if value in (None, "", []) or _has_expression(value) and not isinstance(value, (dict, list)):
                continue
            for path in _file_paths(node.action, key, value, node.values):
                if is_expression(path):
                    continue  # known only when the node runs; checked there
                outside = _outside_folder(path, flow_dir)
                if outside is not None:
                    result.items.append(item(FILE, key, outside))
    return result


# Actions that start, contact or listen on something even when the node has no values of its own.
_ACTIONS_WITH_REACH = frozenset({LOCAL_MCP, REMOTE_MCP, HTTP_REQUEST, WEBHOOK})


def _file_keys(action_id: str, action: Any) -> list[str]:
    keys = list(FILE_INPUTS.get(action_id, ()))
    if action is not None:
        keys += [i.key for i in action.inputs if i.type.value == "file" and i.key not in keys]
    elif action_id in {"file.upload", "audio.transcribe", "audio.translate"}:
        keys.append("file")
    return keys


def _literal_servers(value: Any) -> bool:
    """True when a literal value holds MCP server configurations (as JSON text or data)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return False
    items = value if isinstance(value, list) else [value]
    return any(isinstance(v, dict) and (v.get("type") == "mcp_server" or "command" in v or "url" in v)
               for v in items)


def _local_process(node: "Node", item: Any, refuse: Any, result: FlowCapabilities) -> None:
    command_value = node.values.get("command")
    args_value = node.values.get("args", node.values.get("arguments"))
    refused = False
    if _has_expression(command_value):
        refuse("command", "must be written out, not computed by an expression: the program a flow starts "
               f"is shown before it runs (got {clip(str(command_value), 120)!r})")
        refused = True
    if _has_expression(args_value):
        refuse("args", "must be written out, not computed by an expression: the arguments of a program a "
               f"flow starts are shown before it runs (got {clip(str(args_value), 120)!r})")
        refused = True
    if refused:
        return
    command = str(command_value or DEFAULT_COMMAND).strip()
    args = tuple(arg_list(args_value))
    result.items.append(item(PROCESS, "command", shlex.join([command, *args]), command=command, args=args))


def _remote_host(node: "Node", item: Any, refuse: Any, result: FlowCapabilities, key: str, what: str) -> None:
    """The host a node's URL input (`key`) contacts, written out; one computed by an expression is refused."""
    url = node.values.get(key)
    if url in (None, ""):
        return
    if not isinstance(url, str):
        refuse(key, f"must be an http(s) URL, got {clip(json.dumps(url), 120)}")
        return
    origin = written_origin(url)
    if origin is None:
        if is_expression(url):
            refuse(key, f"must write out {what}; an expression may fill only the path after it "
                   f"(got {clip(url, 120)!r})")
        else:
            refuse(key, f"must be an http(s) URL, got {clip(url, 120)!r}")
        return
    result.items.append(item(HOST, key, origin, written=url if is_expression(url) else ""))


# --- what a run may do ------------------------------------------------------------------------------


class NotPermitted(Exception):
    """A node tried to do something its flow was not allowed to; the message names node and field.
    Trying again cannot help, so the executor spends no retries on it."""

    retryable = False


@dataclass
class Grant:
    """What one run may do: with `trusted` (the user allowed this flow), exactly what the analysis
    listed; without it, nothing but reading inside the flow's folder and the run's artifacts."""

    capabilities: FlowCapabilities
    trusted: bool = False
    roots: tuple[Path, ...] = ()

    @classmethod
    def for_flow(cls, flow: "Flow", catalog: "Catalog | None" = None, *, flow_dir: Any = None,
                 trusted: bool = False, roots: Iterable[Any] = (),
                 capabilities: FlowCapabilities | None = None) -> "Grant":
        """`capabilities`: the flow's analysis made earlier (`studio serve` analyses each served
        flow once, not once per webhook call); the flow must not have changed since."""
        folders = [Path(os.path.abspath(r)) for r in ([flow_dir] if flow_dir else []) + list(roots) if r]
        return cls(capabilities if capabilities is not None else analyse(flow, catalog, flow_dir), trusted,
                   tuple(folders))

    def check_process(self, command: str, args: Iterable[str], where: str) -> None:
        wanted = (str(command), tuple(str(a) for a in args))
        if wanted not in self.capabilities.processes():
            raise NotPermitted(
                f"{where}: refused to start {clip(shlex.join([wanted[0], *wanted[1]]), 200)}: a program is "
                "started only from an Add Local MCP Server node whose command and arguments are written "
                "out in the flow (this one came from data: an expression, JSON, a request or a model)")
        if not self.trusted:
            raise NotPermitted(f"{where}: this flow is not trusted to start local processes ({wanted[0]}); "
                               "trust it first (studio run --trust, or Trust in the editor)")

    def check_origin(self, url: str, where: str) -> None:
        origin = origin_of(url)
        if origin is None or origin not in self.capabilities.origins():
            raise NotPermitted(
                f"{where}: refused to connect to {clip(url, 200)}: a flow contacts only the hosts written "
                "out in its HTTP Request and Add Remote MCP Server nodes (shown before it runs)")
        if not self.trusted:
            raise NotPermitted(f"{where}: this flow is not trusted to connect to {origin}; trust it first "
                               "(studio run --trust, or Trust in the editor)")

    def check_read(self, path: Path, where: str) -> None:
        absolute = Path(os.path.abspath(path))
        if any(inside(absolute, root) for root in self.roots):
            return
        if self.trusted and any(inside(absolute, Path(listed)) for listed in self.capabilities.files()):
            return
        raise NotPermitted(
            f"{where}: refused to read {absolute}: it is outside the flow's folder"
            + ("" if self.trusted else " (a path written in the flow can be allowed by trusting the flow)")
            + "; put the file next to the flow or pass it from an upstream node")
