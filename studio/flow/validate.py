"""The rules a flow must follow to run, checked against the catalog before any node starts.

They mirror what the engine accepts (ports, value coercion, cycles), so a file that passes here
does not fail later on a mistake that was visible in the file. Every problem names a JSON path."""

from __future__ import annotations

import difflib
import json
import math
import re
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from .capabilities import analyse
from .case_checks import stored_test_problems
from .errors import ECHO_LIMIT, Problem, clip, quote, show_value
from .references import referenced_names

if TYPE_CHECKING:
    from studio.catalog.catalog import Catalog
    from studio.catalog.models import Action, Input

    from .models import Flow, Node

__all__ = ["Problem", "SECRET_MESSAGE", "looks_like_secret_key", "output_ports", "input_ports", "validate_flow"]

SECRET_MESSAGE = "secrets are not stored in flow files; use a connection"
_SECRET_KEYS = {"apikey", "xapikey", "token", "accesstoken", "bearertoken", "password", "authorization",
                "clientsecret", "secretkey"}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def looks_like_secret_key(key: str) -> bool:
    """`api_key`, `apiKey`, `X-API-Key`, `token`, `password`, `Authorization` ..."""
    return re.sub(r"[^a-z0-9]", "", key.lower()) in _SECRET_KEYS


def _secret_text(text: str) -> bool:
    stripped = text.strip()
    if stripped.lower().startswith("bearer "):
        stripped = stripped[7:].lstrip()
    return stripped.startswith("sk-")


def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def _sub(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _IDENT.match(str(key)) and len(str(key)) <= ECHO_LIMIT:
        return f"{path}.{key}" if path else str(key)
    return f"{path}[{json.dumps(clip(str(key)), ensure_ascii=False)}]"


def _find_secrets(value: Any, path: str, out: list[Problem]) -> None:
    """Every place in `value` that holds a key or a secret-looking key name with a literal value."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict):
            for key, sub in item.items():
                here = _sub(where, key)
                if looks_like_secret_key(str(key)) and sub not in (None, "") and not _is_expression(sub):
                    out.append(Problem(here, SECRET_MESSAGE))
                else:
                    stack.append((sub, here))
        elif isinstance(item, list):
            # {key: "Authorization", value: "..."} pairs, as key/value inputs may store them
            stack.extend((sub, _sub(where, i)) for i, sub in enumerate(item))
            if (len(item) and all(isinstance(x, dict) and "key" in x for x in item)):
                for i, pair in enumerate(item):
                    val = pair.get("value")
                    if (looks_like_secret_key(str(pair["key"])) and val not in (None, "")
                            and not _is_expression(val)):
                        out.append(Problem(_sub(_sub(where, i), "value"), SECRET_MESSAGE))
        elif isinstance(item, str) and _secret_text(item):
            out.append(Problem(where, SECRET_MESSAGE))


# --- ports -------------------------------------------------------------------------------------


def _branch_names(node: Node, action: Action) -> set[str] | None:
    """The output ports named by a node's branches input, or None when only a run knows them."""
    key = action.dynamic_outputs_from
    if not key:
        return None
    value = node.values.get(key)
    if value is None:
        return set()
    if isinstance(value, dict):
        return {str(k) for k in value}
    if isinstance(value, list) and all(isinstance(x, dict) and "key" in x for x in value):
        return {str(x["key"]) for x in value}
    if isinstance(value, str) and not _is_expression(value):
        try:
            parsed = json.loads(value)
        except ValueError:
            return set()
        if isinstance(parsed, dict):
            return {str(k) for k in parsed}
    return None


def output_ports(node: Node, action: Action) -> set[str] | None:
    """Port keys a wire may leave `node` from (None: any, decided at run time). `error` is always
    there: it carries the failure when the node's on_error is `route`."""
    if action.dynamic_outputs_from:
        names = _branch_names(node, action)
        # Declared outputs come on top of the dynamic ones (Switch's fallback).
        return None if names is None else names | {p.key for p in action.outputs} | {"error"}
    return {p.key for p in action.outputs} | {"error"}


def input_ports(action: Action) -> dict[str, Input | None]:
    """Port keys a wire may enter: the main `in` (None) and every input with `port=True`."""
    ports: dict[str, Input | None] = {"in": None}
    ports.update({i.key: i for i in action.inputs if i.port})
    return ports


# --- values ------------------------------------------------------------------------------------


_TRUE_FALSE = {"true", "yes", "on", "1", "false", "no", "off", "0"}


def _number_ok(value: Any, integer: bool) -> tuple[bool, float | None]:
    if isinstance(value, bool):
        return False, None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return True, None
        try:
            value = int(text) if text.lstrip("+-").isdigit() else float(text)
        except ValueError:
            return False, None
    if isinstance(value, float):
        if not math.isfinite(value) or (integer and not value.is_integer()):
            return False, None
        return True, value
    if isinstance(value, int):
        return True, value
    return False, None


def _pairs_ok(value: Any) -> bool:
    if isinstance(value, str):
        if not value.strip():
            return True
        try:
            value = json.loads(value)
        except ValueError:
            return False
    if isinstance(value, dict):
        return True
    return isinstance(value, list) and all(isinstance(x, dict) and "key" in x for x in value)


def _value_problem(value: Any, spec: Input) -> str | None:
    """Why `value` cannot be used for `spec` (the engine's coercion rules), or None."""
    from studio.catalog.models import ValueType as T

    if value is None or _is_expression(value):
        return None
    kind = spec.type
    if kind in (T.CONNECTION, T.MODEL):
        return None if isinstance(value, str) else "a name (text)"
    if kind in (T.STRING, T.TEXT, T.JSON):
        return None
    if kind in (T.NUMBER, T.INTEGER):
        ok, number = _number_ok(value, kind is T.INTEGER)
        if not ok:
            return "a whole number" if kind is T.INTEGER else "a number"
        if number is not None and spec.minimum is not None and number < spec.minimum:
            return f"a number of at least {_num(spec.minimum)}"
        if number is not None and spec.maximum is not None and number > spec.maximum:
            return f"a number of at most {_num(spec.maximum)}"
        return None
    if kind is T.BOOLEAN:
        if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
            return None
        if isinstance(value, str) and value.strip().lower() in _TRUE_FALSE | {""}:
            return None
        return "true or false"
    if kind is T.ENUM:
        options = spec.options or []
        for option in options:
            if value == option.value and type(value) is type(option.value):
                return None
        if value == "":
            return None
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            text = str(value).strip()
            for option in options:
                if text == str(option.value) or text.lower() == option.label.lower():
                    return None
        return "one of " + ", ".join(json.dumps(o.value) for o in options)
    if kind is T.KEY_VALUE:
        return None if _pairs_ok(value) else "an object of key/value pairs"
    if kind is T.STRING_LIST:
        return None if isinstance(value, (str, list, int, float)) and not isinstance(value, bool) else "a list of text"
    if kind is T.FILE:
        return None if isinstance(value, (str, dict, list)) else "a file path or an upstream file"
    return None


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _closest(word: str, choices: list[str]) -> str | None:
    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return found[0] if found else None


def _did_you_mean(word: str, choices: list[str]) -> str:
    best = _closest(word, choices)
    return f"; did you mean {best!r}?" if best else ""


# --- the rules ---------------------------------------------------------------------------------


def check_flow(flow: Flow, catalog: Catalog) -> list[Problem]:
    """What the Problems list shows: `validate_flow`'s errors, then `flow_warnings`."""
    return validate_flow(flow, catalog) + flow_warnings(flow, catalog)


def flow_warnings(flow: Flow, catalog: Catalog) -> list[Problem]:
    """What is unfinished in `flow` without stopping it from loading or running, in document
    order, each with severity "warning": an empty required field (that node fails when it
    runs) and a broken stored test (`studio test` fails that test; a node renamed since must not
    stop the flow itself)."""
    wired_ports: dict[str, set[str]] = {}  # node id -> its input ports with a wire into them
    for wire in flow.wires:
        wired_ports.setdefault(wire.target.node, set()).add(wire.target.port)
    warnings: list[Problem] = []
    for i, node in enumerate(flow.nodes):
        if node.action in catalog and not node.disabled:  # a disabled node's fields are not used
            warnings.extend(_missing_required(node, catalog.get(node.action), f"nodes[{i}]",
                                              wired_ports.get(node.id, set())))
    # Stored tests name nodes and assertion kinds: a typo there is caught here, not at `studio test`.
    warnings.extend(Problem(p.path, p.message, "warning") for p in stored_test_problems(flow, catalog))
    return warnings


def validate_flow(flow: Flow, catalog: Catalog) -> list[Problem]:
    """Every problem that would stop `flow` from running as written, in document order (the
    errors; `flow_warnings` has the rest)."""
    problems: list[Problem] = []
    actions: dict[str, Action] = {}
    action_ids = [a.id for a in catalog.actions]

    id_count = Counter(n.id for n in flow.nodes)
    name_count = Counter(n.name for n in flow.nodes)
    first_of: dict[str, int] = {}
    for i, node in enumerate(flow.nodes):
        here = f"nodes[{i}]"
        first_of.setdefault(node.id, i)
        if id_count[node.id] > 1 and first_of[node.id] != i:
            problems.append(Problem(f"{here}.id", f"{node.name}: the id {quote(node.id)} is already used by "
                                    f"nodes[{first_of[node.id]}]; expected ids to be unique"))
        if name_count[node.name] > 1 and [n.name for n in flow.nodes].index(node.name) != i:
            problems.append(Problem(f"{here}.name", f"the name {node.name!r} is used by more than one node; "
                                    "expected unique names (expressions refer to nodes by name)"))
        if node.action not in catalog:
            problems.append(Problem(f"{here}.action", f"{node.name}: unknown action {quote(node.action)}"
                                    + _did_you_mean(node.action, action_ids)))
            continue
        action = catalog.get(node.action)
        actions[node.id] = action
        problems.extend(_node_value_problems(node, action, here))

    note_ids = Counter(n.id for n in flow.notes)
    for i, note in enumerate(flow.notes):
        if note_ids[note.id] > 1 and [n.id for n in flow.notes].index(note.id) != i:
            problems.append(Problem(f"notes[{i}].id", f"the id {quote(note.id)} is used by more than one note; "
                                    "expected ids to be unique"))

    triggers = [(i, n) for i, n in enumerate(flow.nodes) if n.id in actions and actions[n.id].kind == "trigger"]
    if not triggers:
        problems.append(Problem("nodes", "the flow has no trigger; expected exactly one trigger node "
                                "(Manual, Schedule, Webhook, Chat or Flow Tool trigger) to start it"))
    elif len(triggers) > 1:
        listed = ", ".join(f"{n.name} (nodes[{i}])" for i, n in triggers)
        problems.append(Problem(f"nodes[{triggers[1][0]}]", f"the flow has {len(triggers)} triggers: {listed}; "
                                "expected exactly one trigger"))

    problems.extend(_wire_problems(flow, actions, first_of))
    problems.extend(_reference_problems(flow))
    loop, others = _cycle(flow, first_of)
    if loop:
        also = f" (also caught in it: {', '.join(others)})" if others else ""
        problems.append(Problem("wires", "the flow has a cycle through " + " -> ".join(loop) + also
                                + "; expected wires that never loop back to an earlier node"))

    # What the flow may never do on this machine (a program from data, a host from an expression).
    problems.extend(analyse(flow, catalog).problems)

    for key in ("name", "description"):
        if _secret_text(getattr(flow, key)):
            problems.append(Problem(key, SECRET_MESSAGE))
    _find_secrets(flow.settings, "settings", problems)
    for i, note in enumerate(flow.notes):
        if _secret_text(note.text):
            problems.append(Problem(f"notes[{i}].text", SECRET_MESSAGE))
    for i, group in enumerate(flow.groups):
        if _secret_text(group.title):
            problems.append(Problem(f"groups[{i}].title", SECRET_MESSAGE))
    return problems


def _node_value_problems(node: Node, action: Action, here: str) -> list[Problem]:
    problems: list[Problem] = []
    specs = {i.key: i for i in action.inputs}
    for key, value in node.values.items():
        where = _sub(f"{here}.values", key)
        secrets: list[Problem] = []
        if looks_like_secret_key(key) and value not in (None, "") and not _is_expression(value):
            secrets.append(Problem(where, SECRET_MESSAGE))
        else:
            _find_secrets(value, where, secrets)
        if secrets:
            problems.extend(secrets)
            continue
        spec = specs.get(key)
        if spec is None:
            problems.append(Problem(where, f"{node.name}: {action.title} has no input {quote(key)}"
                                    + _did_you_mean(key, list(specs))
                                    + ("" if _closest(key, list(specs)) else
                                       f"; expected one of: {', '.join(specs) or '(none)'}")))
            continue
        expected = _value_problem(value, spec)
        if expected:
            problems.append(Problem(where, f"{node.name}: '{spec.label}' expects {expected}, got {show_value(value)}"))
    for key in ("name", "notes"):
        if _secret_text(getattr(node, key)):
            problems.append(Problem(f"{here}.{key}", SECRET_MESSAGE))
    return problems


def _missing_required(node: Node, action: Action, here: str, wired: set[str]) -> list[Problem]:
    """The required inputs of `node` with nothing to run with: no value, no default, no wire into
    them (the node would fail with "'Label' is required"). The property panel marks each field
    through this warning."""
    return [Problem(_sub(f"{here}.values", spec.key),
                    f"{node.name}: '{spec.label}' is required; expected a value, an expression or a wire into it",
                    "warning")
            for spec in action.inputs
            if spec.required and spec.default is None and node.values.get(spec.key) in (None, "", [], {})
            and spec.key not in wired]


def _wire_problems(flow: Flow, actions: dict[str, Action], first_of: dict[str, int]) -> list[Problem]:
    problems: list[Problem] = []
    nodes = {n.id: n for n in flow.nodes}
    seen: dict[tuple[str, str, str, str], int] = {}
    for i, wire in enumerate(flow.wires):
        here = f"wires[{i}]"
        ok = True
        for end in ("source", "target"):
            ep = getattr(wire, end)
            if ep.node not in nodes:
                problems.append(Problem(f"{here}.{end}.node", f"no node has the id {quote(ep.node)}; "
                                        "expected the id of a node in this flow"))
                ok = False
        if not ok:
            continue
        src, dst = nodes[wire.source.node], nodes[wire.target.node]
        key = (wire.source.node, wire.source.port, wire.target.node, wire.target.port)
        if key in seen:
            problems.append(Problem(here, f"the same wire as wires[{seen[key]}] ({src.name} -> {dst.name}); "
                                    "expected each wire once"))
            continue
        seen[key] = i
        src_action, dst_action = actions.get(src.id), actions.get(dst.id)
        port_type = "any"
        if src_action is not None:
            outs = output_ports(src, src_action)
            if outs is not None and wire.source.port not in outs:
                problems.append(Problem(f"{here}.source.port", f"{src.name} has no output port "
                                        f"{quote(wire.source.port)}; expected one of: {', '.join(sorted(outs))}"))
            for port in src_action.outputs:
                if port.key == wire.source.port:
                    port_type = port.type
        if dst_action is not None:
            if dst_action.kind == "trigger":
                problems.append(Problem(f"{here}.target.node", f"{dst.name} is a trigger: it starts the flow, "
                                        "nothing can be wired into it; expected a wire into an action or agent"))
                continue
            ins = input_ports(dst_action)
            if wire.target.port not in ins:
                problems.append(Problem(f"{here}.target.port", f"{dst.name} has no input port "
                                        f"{quote(wire.target.port)}; expected one of: {', '.join(ins)}"))
                continue
            spec = ins[wire.target.port]
            if spec is not None and spec.accepts != "any" and port_type not in ("any", spec.accepts):
                problems.append(Problem(f"{here}.target.port", f"{dst.name}: '{spec.label}' takes {spec.accepts} wires, "
                                        f"but {src.name}'s port {quote(wire.source.port)} carries {port_type}; "
                                        f"expected a wire from a {spec.accepts} port"))
    return problems


def _cycle(flow: Flow, first_of: dict[str, int]) -> tuple[list[str], list[str]]:
    """Names of the nodes on a loop (Kahn's algorithm, then peel off what only hangs below one)."""
    ids = set(first_of)
    outgoing: dict[str, list[str]] = defaultdict(list)
    indegree = {nid: 0 for nid in ids}
    for wire in flow.wires:
        s, t = wire.source.node, wire.target.node
        if s in ids and t in ids:
            outgoing[s].append(t)
            indegree[t] += 1
    ready = [nid for nid, d in indegree.items() if d == 0]
    while ready:
        nid = ready.pop()
        for t in outgoing[nid]:
            indegree[t] -= 1
            if indegree[t] == 0:
                ready.append(t)
    stuck = {nid for nid, d in indegree.items() if d > 0}
    changed = True
    while changed:
        changed = False
        for nid in list(stuck):
            if not any(t in stuck for t in outgoing[nid]):
                stuck.discard(nid)
                changed = True
    if not stuck:
        return [], []
    # Walk one loop so the names read in wire order: A -> B -> C -> A.
    start = min(stuck, key=lambda nid: first_of[nid])
    order, at = [start], start
    visited = {start}
    while True:
        nxt = next((t for t in outgoing[at] if t in stuck), None)
        if nxt is None:
            break
        if nxt in visited:
            order = order[order.index(nxt):] + [nxt]
            break
        order.append(nxt)
        visited.add(nxt)
        at = nxt
    names = {n.id: n.name for n in flow.nodes}
    others = sorted(names[nid] for nid in stuck if nid not in order)
    return [names[nid] for nid in order], others


def _reference_problems(flow: Flow) -> list[Problem]:
    """An expression that reads a node no node of this flow is named (`nodes.Old.output` after a
    rename or a delete): a problem on that field."""
    problems: list[Problem] = []
    names = [n.name for n in flow.nodes]
    known = set(names)
    for i, node in enumerate(flow.nodes):
        for key, value in node.values.items():
            for missing in sorted(referenced_names(value) - known):
                problems.append(Problem(_sub(f"nodes[{i}].values", key),
                                        f"{node.name}: {quote(key)} reads nodes.{clip(missing)}, but no node "
                                        f"is named {quote(missing)}" + _did_you_mean(missing, names)))
    return problems
