"""Turn SDK and HTTP failures into one NodeError a user can act on: what went wrong, in words,
never echoing the key; whether trying again can help; and details (status, request, body
excerpt, headers with credentials removed) for the run log."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import httpx2
import openai

from studio.connectors.openai.client import redact_headers
from studio.connectors.openai.retries import seconds_text, timeout_kind
from studio.engine.context import NodeError

# Trying again cannot fix these: the request itself is wrong or not allowed.
NOT_RETRYABLE = frozenset({400, 401, 403, 404, 409, 413, 415, 422})
BODY_EXCERPT = 500

_TIMEOUTS = (openai.APITimeoutError, httpx.TimeoutException, httpx2.TimeoutException, asyncio.TimeoutError,
             TimeoutError)
_CONNECTION = (openai.APIConnectionError, httpx.TransportError, httpx2.TransportError, ConnectionError)


def _response_of(exc: BaseException) -> Any:
    if isinstance(exc, openai.APIStatusError):
        return exc.response
    if isinstance(exc, (httpx.HTTPStatusError, httpx2.HTTPStatusError)):
        return exc.response
    return None


def _request_of(exc: BaseException) -> Any:
    request = getattr(exc, "request", None)
    if request is None:
        response = _response_of(exc)
        request = getattr(response, "request", None) if response is not None else None
    try:
        return request if request is not None and request.url is not None else None
    except RuntimeError:  # httpx raises when an exception has no request attached
        return None


def _safe_request(exc: BaseException) -> Any:
    try:
        return _request_of(exc)
    except (RuntimeError, AttributeError):
        return None


def _server_message(response: Any) -> str:
    """OpenAI's `{"error": {"message": ...}}`, or the start of whatever text came back."""
    try:
        text = response.text
    except Exception:  # a streamed body that was never read
        return ""
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:200]
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if data.get("message"):
            return str(data["message"])
    return text.strip()[:200]


def _base_url(request: Any) -> str:
    if request is None:
        return "the server"
    url = request.url
    return f"{url.scheme}://{url.netloc.decode() if isinstance(url.netloc, bytes) else url.netloc}"


def _details(exc: BaseException, request: Any, response: Any) -> dict[str, Any]:
    details: dict[str, Any] = {"type": type(exc).__name__}
    if request is not None:
        details["method"] = request.method
        details["url"] = str(request.url)
        details["request_headers"] = redact_headers(dict(request.headers))
    if response is not None:
        details["status"] = response.status_code
        details["headers"] = redact_headers(dict(response.headers))
        try:
            details["body"] = response.text[:BODY_EXCERPT]
        except Exception:
            details["body"] = ""
    return details


def _status_message(status: int, server: str, base_url: str) -> str:
    if status == 401:
        return "invalid API key (401): check the connection's key"
    if status == 403:
        return f"not allowed (403): {server or 'the key has no access to this resource or region'}"
    if status == 404:
        return f"not found (404): {server or 'no such resource'}"
    if status == 429:
        return f"rate limited (429): {server or 'too many requests'}; try again later or lower the concurrency"
    if status >= 500:
        return f"server error ({status}) from {base_url}: {server or 'the service failed'}"
    return f"request rejected ({status}): {server or 'bad request'}"


def map_openai_error(exc: BaseException, node_name: str | None = None) -> NodeError:
    """The NodeError for `exc`, its message prefixed with the node's name."""
    if isinstance(exc, NodeError):
        return exc
    prefix = f"{node_name}: " if node_name else ""
    response = _response_of(exc)
    request = _safe_request(exc)
    details = _details(exc, request, response)
    if response is not None:
        status = response.status_code
        message = _status_message(status, _server_message(response), _base_url(request))
        return NodeError(prefix + message, details=details, retryable=status not in NOT_RETRYABLE)
    if isinstance(exc, _TIMEOUTS):
        return NodeError(prefix + timeout_message(exc), details=details, retryable=True)
    if isinstance(exc, _CONNECTION):
        base = _base_url(request)
        if _could_not_connect(exc):
            return NodeError(prefix + f"cannot reach {base}: check the connection's base URL and the network",
                             details=details, retryable=True)
        return NodeError(prefix + f"the connection to {base} was closed before the answer arrived "
                         f"({_cause_name(exc)}); try again", details=details, retryable=True)
    if isinstance(exc, ValueError):  # e.g. a Raw Request path outside the base URL
        return NodeError(prefix + str(exc), details=details, retryable=False)
    return NodeError(prefix + f"{type(exc).__name__}: {exc}", details=details, retryable=True)


_CONNECT_ERRORS = ("ConnectError", "ConnectTimeout", "ConnectionRefusedError", "gaierror", "UnsupportedProtocol",
                   "InvalidURL")
_DROPPED_ERRORS = ("RemoteProtocolError", "ReadError", "WriteError", "EndOfStream", "ClosedResourceError",
                   "BrokenResourceError", "IncompleteRead", "ConnectionResetError")


def _causes(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(found) < 6:
        found.append(cause)
        cause = cause.__cause__ or cause.__context__
    return found


def _cause_name(exc: BaseException) -> str:
    causes = _causes(exc)
    return type(causes[-1] if len(causes) > 1 else exc).__name__


def _could_not_connect(exc: BaseException) -> bool:
    """True when no connection was made at all (as opposed to one that dropped mid-answer)."""
    names = {type(cause).__name__ for cause in _causes(exc)}
    return bool(names & set(_CONNECT_ERRORS)) or not names & set(_DROPPED_ERRORS)


def timeout_message(exc: BaseException) -> str:
    """Which timeout fired and its length: "read timeout: no answer within 600 s; ..."."""
    kind, seconds = timeout_kind(exc)
    what = {"connect": "connection", "read": "answer", "write": "upload finished", "pool": "free connection"}[kind]
    within = f" within {seconds_text(seconds)}" if seconds is not None else " in time"
    return f"{kind} timeout: no {what}{within}; raise the node's Timeout (ms) or try again later"


# --- streams -----------------------------------------------------------------------------------


class StreamBroken(NodeError):
    """A stream that had started and then broke (cut off, dropped, idle, a malformed chunk or an
    error event): the whole call may be tried again (studio/connectors/openai/stream_retry.py)."""


def stream_cut_off(node_name: str | None, chars: int, detail: str = "") -> NodeError:
    """A stream that ended without saying it was finished: a partial answer is not an answer."""
    prefix = f"{node_name}: " if node_name else ""
    reason = f" ({detail})" if detail else ""
    return StreamBroken(prefix + f"the stream was cut off after {chars} characters{reason}: the server ended it "
                     "without a finish reason; try again", details={"characters": chars}, retryable=True)


def map_stream_error(exc: BaseException, node_name: str | None, chars: int) -> NodeError:
    """The NodeError for a failure while reading a stream that had started (after `chars`
    characters of text): an idle timeout, a dropped connection or a chunk that is not JSON.
    All can pass on a new try, so all are retryable."""
    if isinstance(exc, NodeError):
        return exc
    prefix = f"{node_name}: " if node_name else ""
    request = _safe_request(exc)
    details = {**_details(exc, request, None), "characters": chars}
    if isinstance(exc, _TIMEOUTS):
        kind, seconds = timeout_kind(exc)
        length = f" for {seconds_text(seconds)}" if seconds is not None else ""
        label = "stream idle timeout" if kind == "read" else f"{kind} timeout"
        return StreamBroken(prefix + f"{label}: no data{length} after {chars} characters; raise the node's "
                         "Timeout (ms) or try again later", details=details, retryable=True)
    if isinstance(exc, _CONNECTION):
        return StreamBroken(prefix + f"the connection to {_base_url(request)} dropped mid-stream after {chars} "
                         f"characters ({_cause_name(exc)}); try again", details=details, retryable=True)
    if isinstance(exc, (ValueError, TypeError, KeyError)):  # json.JSONDecodeError, a chunk of the wrong shape
        return StreamBroken(prefix + f"the server sent a malformed stream chunk after {chars} characters "
                         f"({type(exc).__name__}: {str(exc)[:120]}); try again", details=details, retryable=True)
    if isinstance(exc, openai.APIError):  # an error event inside the stream
        return StreamBroken(prefix + f"the stream failed after {chars} characters: {exc.message}", details=details,
                         retryable=True)
    return map_openai_error(exc, node_name)
