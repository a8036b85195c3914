"""Cassettes: every HTTP exchange of a run, recorded beside the flow (`NAME.cassettes/TEST.json`)
and replayed offline.

A request is matched by method, path, query and its *normalised* body: JSON object keys are
sorted, ids (UUIDs, long hex strings) are replaced by `<id>`, multipart boundaries are dropped and
uploaded files are kept as their size and SHA-256. The order in which requests arrive does not
matter (parallel branches), and the same request may be answered again. No credential is ever
written: request headers are not kept, only a response's content type is, and query parameters
named like credential headers (`api-key` ...) are kept as a placeholder.

A request the cassette does not hold is answered with a 400 that the client does not retry, and
the cassette keeps it as a `Miss` that names the differences from the closest recorded request."""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from studio.engine.redaction import REDACTED, SECRET_HEADER_NAMES
from studio.flow.case_checks import cassette_file_name

CASSETTE_VERSION = 1
ID_PLACEHOLDER = "<id>"
_ID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b[0-9a-f]{32,}\b", re.I)
MISS_STATUS = 400
MISS_WORDS = "sent a request the cassette does not hold"
MAX_DIFFERENCES = 8
CLIP = 160


def cassette_folder(flow_path: Path) -> Path:
    """`chat.flow.json` -> `chat.cassettes/` beside it."""
    name = flow_path.name
    stem = name[: -len(".flow.json")] if name.endswith(".flow.json") else flow_path.stem
    return flow_path.with_name(f"{stem}.cassettes")


def cassette_path(flow_path: Path, test_name: str) -> Path:
    return cassette_folder(flow_path) / cassette_file_name(test_name)


# --- normalising requests ------------------------------------------------------------------------


def normal_value(value: Any) -> Any:
    """`value` with object keys sorted and ids replaced, so equal requests compare equal."""
    if isinstance(value, dict):
        return {str(k): normal_value(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [normal_value(v) for v in value]
    if isinstance(value, str):
        return _ID.sub(ID_PLACEHOLDER, value)
    return value


def _digest(data: bytes) -> dict[str, Any]:
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition") or ""
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            fields[name] = {"filename": filename, **_digest(data)}
        else:
            fields[name] = normal_value(data.decode("utf-8", "replace"))
    return {"multipart": dict(sorted(fields.items()))}


def normal_body(content_type: str, body: bytes) -> Any:
    """What of a request body takes part in matching."""
    if not body:
        return None
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        try:
            return {"json": normal_value(json.loads(body))}
        except ValueError:
            pass
    if kind == "multipart/form-data":
        return _multipart(content_type, body)
    if kind == "application/x-www-form-urlencoded":
        return {"form": normal_value(sorted([k, v] for k, v in parse_qsl(body.decode("utf-8", "replace"),
                                                                          keep_blank_values=True)))}
    if kind.startswith("text/"):
        return {"text": normal_value(body.decode("utf-8", "replace"))}
    return {"bytes": _digest(body)}


SECRET_QUERY_NAMES = SECRET_HEADER_NAMES | {"key", "api_key", "access_token", "token"}


def _query(query: str) -> list[list[str]]:
    """[key, value] pairs (lists, as they read back from JSON), sorted, credentials replaced."""
    pairs = parse_qsl(query, keep_blank_values=True)
    return sorted([k, REDACTED if k.lower() in SECRET_QUERY_NAMES else v] for k, v in pairs)


def normal_request(method: str, path: str, query: str, content_type: str, body: bytes) -> dict[str, Any]:
    return {
        "method": method.upper(),
        "path": path,
        "query": normal_value(_query(query)),
        "body": normal_body(content_type, body),
    }


def _key(request: dict[str, Any]) -> str:
    return json.dumps(request, sort_keys=True, ensure_ascii=False)


# --- responses -----------------------------------------------------------------------------------


def stored_response(status: int, content_type: str, content: bytes) -> dict[str, Any]:
    """A response as kept in the cassette: JSON as JSON, text and streams as text, else base64."""
    kind = content_type.split(";")[0].strip().lower()
    body: dict[str, Any]
    if kind == "application/json" or kind.endswith("+json"):
        try:
            body = {"json": json.loads(content)} if content else {"text": ""}
        except ValueError:
            body = {"text": content.decode("utf-8", "replace")}
    elif kind.startswith("text/"):
        body = {"text": content.decode("utf-8")} if _utf8(content) else {"base64": base64.b64encode(content).decode()}
    else:
        body = {"base64": base64.b64encode(content).decode("ascii")}
    headers = {"content-type": content_type} if content_type else {}
    return {"status": status, "headers": headers, "body": body}


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def response_content(response: dict[str, Any]) -> bytes:
    body = response.get("body") or {}
    if "json" in body:
        return json.dumps(body["json"], ensure_ascii=False).encode("utf-8")
    if "text" in body:
        return str(body["text"]).encode("utf-8")
    if "base64" in body:
        return base64.b64decode(body["base64"])
    return b""


# --- differences ---------------------------------------------------------------------------------


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= CLIP else text[: CLIP - 3] + "..."


def _string_window(recorded: str, sent: str) -> tuple[str, str]:
    """The part of two long texts around where they first differ."""
    at = next((i for i, (a, b) in enumerate(zip(recorded, sent)) if a != b), min(len(recorded), len(sent)))
    start = max(0, at - 40)
    prefix = "..." if start else ""
    return prefix + recorded[start: start + 100], prefix + sent[start: start + 100]


def differences(recorded: Any, sent: Any, where: str = "") -> list[tuple[str, str, str]]:
    """(path, recorded, sent) for each place two JSON values differ, most specific first."""
    if isinstance(recorded, dict) and isinstance(sent, dict):
        out = []
        for key in sorted(set(recorded) | set(sent)):
            path = f"{where}.{key}" if where else str(key)
            if key not in recorded:
                out.append((path, "(absent)", _show(sent[key])))
            elif key not in sent:
                out.append((path, _show(recorded[key]), "(absent)"))
            else:
                out.extend(differences(recorded[key], sent[key], path))
        return out
    if isinstance(recorded, list) and isinstance(sent, list):
        out = []
        for i in range(max(len(recorded), len(sent))):
            path = f"{where}[{i}]"
            if i >= len(recorded):
                out.append((path, "(absent)", _show(sent[i])))
            elif i >= len(sent):
                out.append((path, _show(recorded[i]), "(absent)"))
            else:
                out.extend(differences(recorded[i], sent[i], path))
        return out
    if recorded == sent:
        return []
    if isinstance(recorded, str) and isinstance(sent, str) and max(len(recorded), len(sent)) > CLIP:
        a, b = _string_window(recorded, sent)
        return [(where, _show(a), _show(b))]
    return [(where, _show(recorded), _show(sent))]


@dataclass
class Miss:
    """A request the cassette does not hold, and how it differs from the closest recorded one."""

    request: dict[str, Any]
    closest: dict[str, Any] | None = None
    diff: list[tuple[str, str, str]] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)  # "METHOD /path" of every recorded request

    def describe(self) -> str:
        line = f"{self.request['method']} {self.request['path']} {MISS_WORDS}"
        if self.closest is None:
            held = ", ".join(sorted(set(self.recorded))) or "nothing"
            return f"{line}; the cassette has no {self.request['method']} {self.request['path']} (it holds: {held})"
        rows = [f"{line}; it differs from the recorded one at:"]
        for path, was, now in self.diff[:MAX_DIFFERENCES]:
            shown = "body." + path[len("body.json."):] if path.startswith("body.json.") else path
            rows.append(f"  {shown}: recorded {was}, now {now}")
        if len(self.diff) > MAX_DIFFERENCES:
            rows.append(f"  ... and {len(self.diff) - MAX_DIFFERENCES} more")
        return "\n".join(rows)

    def to_json(self) -> dict[str, Any]:
        return {"request": f"{self.request['method']} {self.request['path']}", "message": self.describe(),
                "differences": [{"path": p, "recorded": a, "sent": b} for p, a, b in self.diff]}


# --- the cassette --------------------------------------------------------------------------------


class Cassette:
    """The exchanges of one test. `mode` is "replay" (answer from the file, note misses) or
    "record" (the transport sends for real and adds each exchange)."""

    def __init__(self, path: Path, mode: str = "replay", interactions: list[dict[str, Any]] | None = None,
                 base_path: str = "/v1", exists: bool = True, flow_shape: dict[str, Any] | None = None) -> None:
        self.path = path
        self.mode = mode
        self.interactions = list(interactions or [])
        self.base_path = base_path
        self.exists = exists
        self.flow_shape = flow_shape  # the flow as it was when recorded (see changes.py)
        self.misses: list[Miss] = []
        self._used: dict[int, int] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path, mode: str = "replay") -> "Cassette":
        """The cassette at `path` (an empty one when there is none). ValueError for a bad file."""
        if mode == "record" or not path.exists():
            return cls(path, mode, exists=path.exists() and mode != "record")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: not a readable cassette ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
            raise ValueError(f"{path}: not a cassette (expected an object with an `interactions` list)")
        if data.get("version", CASSETTE_VERSION) > CASSETTE_VERSION:
            raise ValueError(f"{path}: cassette version {data.get('version')} is newer than this build reads")
        return cls(path, mode, data["interactions"], str(data.get("base_path") or "/v1"),
                   flow_shape=data.get("flow_shape"))

    def answer(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """The recorded response to `request`, or None (and a Miss is kept)."""
        key = _key(request)
        with self._lock:
            matches = [i for i, item in enumerate(self.interactions) if _key(item["request"]) == key]
            if matches:
                # Each recorded copy once, in order; when all are used the last answers again.
                fresh = [i for i in matches if not self._used.get(i)]
                index = fresh[0] if fresh else matches[-1]
                self._used[index] = self._used.get(index, 0) + 1
                return self.interactions[index]["response"]
            self.misses.append(self._miss(request))
            return None

    def _miss(self, request: dict[str, Any]) -> Miss:
        recorded = [f"{i['request']['method']} {i['request']['path']}" for i in self.interactions]
        same = [i["request"] for i in self.interactions
                if i["request"]["method"] == request["method"] and i["request"]["path"] == request["path"]]
        if not same:
            return Miss(request, recorded=recorded)
        scored = [(len(differences(r, request)), n, r) for n, r in enumerate(same)]
        _count, _n, closest = min(scored, key=lambda t: (t[0], t[1]))
        return Miss(request, closest, differences(closest, request), recorded)

    def add(self, request: dict[str, Any], response: dict[str, Any]) -> None:
        with self._lock:
            self.interactions.append({"request": request, "response": response})

    def forget_misses_after(self, count: int) -> list[Miss]:
        """Take out the misses after the first `count` (a judgement not recorded is a skip)."""
        with self._lock:
            taken, self.misses = self.misses[count:], self.misses[:count]
        return taken

    def save(self, flow_name: str, test_name: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "version": CASSETTE_VERSION,
            "flow": flow_name,
            "test": test_name,
            "recorded_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
            "base_path": self.base_path,
            "flow_shape": self.flow_shape,
            "interactions": self.interactions,
        }
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(self.path)
