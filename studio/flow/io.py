"""Reading and writing `*.flow.json` files.

Loading is a pipeline of checks, each naming what it rejects: bytes -> UTF-8 text -> JSON (line and
column) -> an object -> migrated to this build's format -> the models (JSON path) -> the catalog
and graph rules of `validate.py`. Whatever goes wrong, only `FlowLoadError` escapes, so the CLI,
the server and the editor can show one clear message instead of a traceback.

Saving is atomic: a temporary file next to the target is written, fsynced and renamed over it, so
a crash or a kill mid-save leaves either the old or the new document, never a torn one."""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from .errors import ECHO_LIMIT, FlowLoadError, Problem, clip, show_value
from .migrate import migrate
from .models import Flow

if TYPE_CHECKING:
    from studio.catalog.catalog import Catalog

__all__ = [
    "FlowLoadError", "MAX_DEPTH", "MAX_FILE_BYTES", "Problem", "dump_flow", "flow_from_dict",
    "flow_to_dict", "json_path", "load_flow", "parse_flow", "save_flow",
]

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Larger files are refused before they are read: no flow is this big, and reading one could
exhaust memory."""

MAX_DEPTH = 200
"""Deepest nesting of objects and lists accepted (a flow needs about ten)."""



# --- JSON paths --------------------------------------------------------------------------------

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def json_path(parts: tuple[Any, ...] | list[Any]) -> str:
    """`("nodes", 2, "values", "temperature")` -> `nodes[2].values.temperature`."""
    out = ""
    for part in parts:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif isinstance(part, str) and _IDENT.match(part) and len(part) <= ECHO_LIMIT:
            out += f".{part}" if out else part
        else:
            out += "[" + json.dumps(clip(str(part)), ensure_ascii=False) + "]"
    return out


# --- parsing -----------------------------------------------------------------------------------


class _Reject(Exception):
    """A JSON token the format refuses (NaN, Infinity, a duplicate key)."""

    def __init__(self, message: str, token: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.token = token


def _parse_constant(name: str) -> Any:
    raise _Reject(f"{name} is not a JSON number", token=name)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Reject(f"the number {text[:40]} is too large", token=text)
    return value


def _parse_int(text: str) -> int:
    if len(text) > 300:  # Python refuses past 4300 digits; no flow needs more than a few dozen
        raise _Reject(f"a number with {len(text.lstrip('-'))} digits is too large", token=text[:40])
    return int(text)


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Reject(f"the key {show_value(key)} appears twice in one object", token=json.dumps(key))
        out[key] = value
    return out


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _decode(data: bytes, source: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise FlowLoadError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x})", file=source, line=line, column=column,
            expected="a UTF-8 encoded JSON document",
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def _load_json(text: str, source: str) -> Any:
    try:
        return json.loads(text, parse_constant=_parse_constant, parse_float=_parse_float, parse_int=_parse_int,
                          object_pairs_hook=_pairs)
    except json.JSONDecodeError as exc:
        raise FlowLoadError(
            f"broken JSON: {exc.msg}", file=source, line=exc.lineno, column=exc.colno,
            expected="a valid JSON document",
        ) from None
    except _Reject as exc:
        line = column = None
        if exc.token:
            at = text.find(exc.token)
            if at >= 0:
                line, column = _line_col(text, at)
        raise FlowLoadError(f"broken JSON: {exc.message}", file=source, line=line, column=column,
                            expected="plain JSON") from None
    except RecursionError:
        raise FlowLoadError(f"nested more than {MAX_DEPTH} levels deep", file=source,
                            expected="a flow document (they nest about ten levels)") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise FlowLoadError(f"broken JSON: {exc}", file=source, expected="a valid JSON document") from None


def _check_tree(data: Any, source: str) -> None:
    """Refuse documents nested too deeply for the models, and text that cannot be saved as UTF-8
    (a lone `\\ud800` escape)."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(data, ())]
    while stack:
        value, where = stack.pop()
        if len(where) > MAX_DEPTH:
            raise FlowLoadError(f"nested more than {MAX_DEPTH} levels deep", file=source,
                                path=json_path(where[:8]) + "…", expected="a flow document (about ten levels)")
        if isinstance(value, dict):
            for key, item in value.items():
                _check_text(key, where, source)
                stack.append((item, where + (key,)))
        elif isinstance(value, list):
            stack.extend((item, where + (i,)) for i, item in enumerate(value))
        elif isinstance(value, str):
            _check_text(value, where, source)


def _check_text(text: str, where: tuple[Any, ...], source: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise FlowLoadError("text holds an unpaired surrogate escape (\\ud800-\\udfff)", file=source,
                            path=json_path(where) or None, expected="text that is valid Unicode") from None


# --- model errors ------------------------------------------------------------------------------


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class holding the field at `loc` (to list the allowed fields)."""
    model: Any = Flow
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return None
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        model = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


_NAME_RULE = "a name of letters, digits, spaces, '_' or '-', starting with a letter or '_', at most 80 characters"


def _problem_from_pydantic(err: dict[str, Any]) -> Problem:
    loc = tuple(err.get("loc", ()))
    path = json_path(loc)
    kind = err.get("type", "")
    msg = str(err.get("msg", "invalid value"))
    value = err.get("input")
    expected: str | None = None
    if kind == "missing":
        message, expected = "is missing", "a value (this field is required)"
    elif kind == "extra_forbidden":
        owner = _model_at(loc[:-1])
        allowed = ", ".join(owner.model_fields) if owner else None
        message = "is not a field of the flow format"
        expected = f"one of: {allowed}" if allowed else "a known field"
    elif kind == "string_pattern_mismatch" and loc and loc[-1] == "name":
        message, expected = f"got {show_value(value)}", _NAME_RULE
    elif msg.startswith("Input should be "):
        message, expected = f"got {show_value(value)}", msg[len("Input should be "):]
    elif msg.startswith("String should "):
        message, expected = f"got {show_value(value)}", "text that should " + msg[len("String should "):]
    else:
        message = f"{msg[:1].lower()}{msg[1:]}"
    return Problem(path, f"{message}; expected {expected}" if expected else message)


def _validation_error(exc: ValidationError, source: str) -> FlowLoadError:
    return _from_problems([_problem_from_pydantic(dict(e)) for e in exc.errors(include_url=False)], source)


def _from_problems(problems: list[Problem], source: str) -> FlowLoadError:
    """One error for all problems: the first one in front (its `expected` split out), the rest listed."""
    first = problems[0]
    message, _, expected = first.message.partition("; expected ")
    return FlowLoadError(message, file=source, path=first.path or None, expected=expected or None,
                         problems=problems)


# --- public API --------------------------------------------------------------------------------


def flow_from_dict(
    data: Any, source: str = "<flow>", catalog: Catalog | None = None, *, validate: bool = True
) -> Flow:
    """A Flow from a parsed JSON document: migrated, checked against the models and (when
    `validate`) against the catalog and the graph rules."""
    try:
        return _flow_from_dict(data, source, catalog, validate)
    except FlowLoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - a file must never crash its reader
        raise FlowLoadError(f"cannot be read ({type(exc).__name__})", file=source,
                            expected="a flow document") from None


def _flow_from_dict(data: Any, source: str, catalog: Catalog | None, validate: bool) -> Flow:
    if not isinstance(data, dict):
        kind = {list: "a list", str: "text", bool: "true/false", type(None): "null"}.get(type(data), "a number")
        raise FlowLoadError(f"the document is {kind}", file=source,
                            expected="a JSON object with format_version, nodes and wires")
    _check_tree(data, source)
    try:
        data = migrate(data)
    except FlowLoadError as exc:
        exc.file = exc.file or source
        raise
    try:
        flow = Flow.model_validate(data, strict=True)
    except ValidationError as exc:
        raise _validation_error(exc, source) from None
    if validate:
        from .validate import validate_flow

        if catalog is None:
            from studio.catalog import load_catalog

            catalog = load_catalog()
        problems = validate_flow(flow, catalog)
        if problems:
            raise _from_problems(problems, source)
    return flow


def parse_flow(
    text_or_bytes: str | bytes | bytearray | memoryview,
    source: str = "<flow>",
    catalog: Catalog | None = None,
    validate: bool = True,
) -> Flow:
    """A Flow from the text of a flow file (see the module docstring for the checks)."""
    try:
        if isinstance(text_or_bytes, str):
            text = text_or_bytes
            size = len(text)
        elif isinstance(text_or_bytes, (bytes, bytearray, memoryview)):
            data = bytes(text_or_bytes)
            size = len(data)
            if size > MAX_FILE_BYTES:
                raise _too_big(size, source)
            text = _decode(data, source)
        else:
            raise FlowLoadError(f"cannot read a {type(text_or_bytes).__name__}", file=source,
                                expected="the text or bytes of a flow file")
        if size > MAX_FILE_BYTES:
            raise _too_big(size, source)
        if text.startswith("\ufeff"):
            text = text[1:]
        return flow_from_dict(_load_json(text, source), source, catalog, validate=validate)
    except FlowLoadError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise FlowLoadError(f"cannot be read ({type(exc).__name__})", file=source,
                            expected="a flow document") from None


def _too_big(size: int, source: str) -> FlowLoadError:
    return FlowLoadError(f"the file is {size:,} bytes", file=source,
                         expected=f"a flow file under {MAX_FILE_BYTES // (1024 * 1024)} MB")


def load_flow(path: str | os.PathLike[str], catalog: Catalog | None = None, *, validate: bool = True) -> Flow:
    """Read and check a flow file. `validate=False` still migrates and checks the document's shape
    but skips the catalog and graph rules (the editor opens half-built flows that way)."""
    source = os.fspath(path)
    try:
        size = os.stat(source).st_size
        if size > MAX_FILE_BYTES:
            raise _too_big(size, source)
        with open(source, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except FlowLoadError:
        raise
    except OSError as exc:
        raise FlowLoadError(f"cannot read the file ({exc.strerror or type(exc).__name__})", file=source,
                            expected="a readable *.flow.json file") from None
    except Exception as exc:  # noqa: BLE001 - a bad path (NUL byte ...) must not crash either
        raise FlowLoadError(f"cannot read the file ({type(exc).__name__})", file=source) from None
    return parse_flow(data, source, catalog, validate)


def flow_to_dict(flow: Flow) -> dict[str, Any]:
    """The JSON document of a flow: every field, in the models' order (stable diffs); `groups`
    only when there are some, so a flow without groups reads in builds that have none."""
    data = flow.model_dump(mode="json")
    if not data.get("groups"):
        data.pop("groups", None)
    return data


def dump_flow(flow: Flow) -> str:
    """The text of a flow file: two-space indent, fields in a fixed order, a trailing newline.
    Dumping, loading and dumping again gives the same text."""
    _refuse_non_finite(flow.model_dump(), flow.name)  # JSON mode would quietly write null
    return json.dumps(flow_to_dict(flow), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _refuse_non_finite(data: Any, name: str) -> None:
    stack: list[tuple[Any, tuple[Any, ...]]] = [(data, ())]
    while stack:
        value, where = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"flow {name!r}: {json_path(where)} is {value}; JSON cannot store NaN or infinity")
        if isinstance(value, dict):
            stack.extend((v, where + (k,)) for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            stack.extend((v, where + (i,)) for i, v in enumerate(value))


def save_flow(flow: Flow, path: str | os.PathLike[str]) -> None:
    """Write the flow atomically (temp file in the same folder, fsync, rename over the target)."""
    data = dump_flow(flow).encode("utf-8")
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        mode = os.stat(target).st_mode & 0o777
    except OSError:
        mode = 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows has no directory handles to sync."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
