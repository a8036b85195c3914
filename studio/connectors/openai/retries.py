"""The one retry policy of the OpenAI client: which failures are worth another try, how long to
wait (backoff with jitter, or the server's Retry-After), the tries and the time budget, and each
retry announced on the calling node. The SDK path and the direct JSON path both run their tries
through `with_retries`, so they cannot drift apart."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, Mapping, TypeVar

import openai

from studio.engine.context import current_node

log = logging.getLogger("studio.openai")
T = TypeVar("T")

RETRY_STATUSES = frozenset({408, 409, 429})
MAX_BACKOFF_S = 8.0
# Server-directed waits longer than this are not honoured: the call fails instead.
MAX_RETRY_AFTER_S = 60.0


@dataclass(frozen=True)
class CallPolicy:
    retry_delay_s: float = 0.5
    retry_budget_s: float = 60.0
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 600.0
    stream_idle_timeout_s: float = 60.0


def timeout_kind(exc: BaseException) -> tuple[str, float | None]:
    """Which timeout fired ("connect", "read", "write", "pool") and its length in seconds, from
    an SDK/httpx timeout error (the request carries the timeouts it was sent with)."""
    cause: BaseException | None = exc
    names = []
    while cause is not None and len(names) < 5:
        names.append(type(cause).__name__)
        cause = cause.__cause__ or cause.__context__
    kind = "read"
    for name in names:
        for candidate in ("Connect", "Read", "Write", "Pool"):
            if name.startswith(candidate + "Timeout"):
                kind = candidate.lower()
                break
        else:
            continue
        break
    seconds = None
    try:
        request = getattr(exc, "request", None)
        limits = request.extensions.get("timeout") if request is not None else None
        if isinstance(limits, dict) and limits.get(kind) is not None:
            seconds = float(limits[kind])
    except (RuntimeError, AttributeError, TypeError, ValueError):
        seconds = None
    return kind, seconds


def seconds_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds:g} s" if seconds >= 1 else f"{seconds * 1000:g} ms"


def retry_reason(exc: BaseException) -> str:
    """A few words for why a call is being retried: "rate limited (429)", "read timeout (600 s)"."""
    if isinstance(exc, openai.APIStatusError):
        return status_reason(exc.status_code)
    if isinstance(exc, openai.APITimeoutError):
        kind, seconds = timeout_kind(exc)
        return f"{kind} timeout" + (f" ({seconds_text(seconds)})" if seconds is not None else "")
    cause = exc.__cause__ or exc.__context__
    return f"connection failed ({type(cause).__name__ if cause is not None else type(exc).__name__})"


def status_reason(status: int) -> str:
    words = {429: "rate limited", 408: "request timeout", 409: "conflict"}.get(
        status, "server error" if status >= 500 else "error")
    return f"{words} ({status})"


def backoff_s(first_delay_s: float, attempt: int) -> float:
    """The pause after failed try number `attempt` (1, 2, ...): `first_delay_s` doubling each try,
    capped at MAX_BACKOFF_S, minus up to 25 % jitter so many callers do not retry in step."""
    step = min(first_delay_s * pow(2.0, attempt - 1), MAX_BACKOFF_S)
    return max(0.0, step * (1 - 0.25 * random.random()))


def retry_after_s(headers: Mapping[str, str] | None) -> float | None:
    """The server's requested wait in seconds, read as the SDK reads it: retry-after-ms, then
    Retry-After as seconds or as an HTTP date (negative once the date has passed); None when
    absent or unreadable. A number too large for a float counts as longer than any wait."""
    if not headers:
        return None
    for header, divisor in (("retry-after-ms", 1000), ("retry-after", 1)):
        value = headers.get(header)
        if value is None:
            continue
        try:
            delay = float(value)
        except ValueError:
            continue
        if delay == math.inf and value.strip().lower() not in ("inf", "+inf", "infinity", "+infinity"):
            return MAX_RETRY_AFTER_S + 1
        return delay / divisor
    try:
        parsed = email.utils.parsedate_tz(headers.get("retry-after"))  # type: ignore[arg-type]
        if parsed is None:
            return None
        return float(email.utils.mktime_tz(parsed) - time.time())
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def retry_wait(exc: BaseException, attempt: int, first_delay_s: float) -> float | None:
    """How long to wait before trying again after failed try number `attempt`, or None when
    trying again cannot help: 408/409/429/5xx (or x-should-retry: true), dropped connections and
    timeouts are retried; a server asking for more than MAX_RETRY_AFTER_S is not."""
    if isinstance(exc, openai.APIStatusError):
        headers = exc.response.headers
        retry_after = retry_after_s(headers)
        if retry_after is not None and math.isfinite(retry_after) and retry_after > MAX_RETRY_AFTER_S:
            return None  # the server asks for a longer pause than a call should wait
        should = headers.get("x-should-retry")
        if should == "false" or (should != "true" and exc.status_code not in RETRY_STATUSES
                                 and exc.status_code < 500):
            return None
        if retry_after is not None and math.isfinite(retry_after) and retry_after > 0:
            return retry_after
    elif not isinstance(exc, openai.APIConnectionError):
        return None
    return backoff_s(first_delay_s, attempt)


def announce_retry(exc: BaseException | str, wait_s: float, next_try: int, tries: int) -> None:
    """Say on the calling node's events (and in the log) why a call is tried again, and when."""
    reason = exc if isinstance(exc, str) else retry_reason(exc)
    message = f"{reason}; retrying in {wait_s:.1f} s (try {next_try} of {tries})"
    log.info("%s", message)
    ctx = current_node.get()
    if ctx is not None:
        ctx.emit("progress", message=message, retry={"try": next_try, "tries": tries, "wait_s": round(wait_s, 3)})


async def with_retries(try_once: Callable[[int], Awaitable[T]], policy: CallPolicy, tries: int) -> T:
    """Run `try_once(retries_taken)` until it returns, a failure that cannot pass is raised, the
    tries are used up or the next one would start past the policy's time budget. Only the
    SDK's own failure types (APIStatusError, APIConnectionError and its APITimeoutError) are
    considered; anything else ends the call at once."""
    started = time.monotonic()
    attempt = 1
    while True:
        try:
            return await try_once(attempt - 1)
        except (openai.APIStatusError, openai.APIConnectionError) as exc:
            wait = retry_wait(exc, attempt, policy.retry_delay_s)
            if wait is None or attempt >= tries or time.monotonic() - started + wait > policy.retry_budget_s:
                raise
            announce_retry(exc, wait, attempt + 1, tries)
            await asyncio.sleep(wait)
            attempt += 1
