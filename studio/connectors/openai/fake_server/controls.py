"""The records behind the fake server's test controls: random fault rates, queued faults,
stream faults and the recording of each request."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from .common import API_PREFIX


@dataclass
class FaultRates:
    """Random failures at set rates (each a probability per request, checked in this order)."""

    rate_429: float = 0.0
    rate_429_retry_after: float = 0.0  # 429 carrying retry-after-ms: `retry_after_ms`
    rate_500: float = 0.0
    rate_503: float = 0.0
    rate_drop: float = 0.0
    rate_slow: float = 0.0
    slow_ms: int = 2000
    retry_after_ms: int = 20
    seed: int | None = None
    path: str | None = None  # only requests whose path contains this

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def draw(self) -> str | None:
        """The fault for one request: "429", "429ra", "500", "503", "drop", "slow" or None."""
        with self._lock:
            r = self._rng.random()
        edge = 0.0
        for kind, rate in (("429", self.rate_429), ("429ra", self.rate_429_retry_after), ("500", self.rate_500),
                           ("503", self.rate_503), ("drop", self.rate_drop), ("slow", self.rate_slow)):
            edge += rate
            if r < edge:
                return kind
        return None


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    json: Any = None
    form: dict[str, Any] = field(default_factory=dict)
    files: dict[str, tuple[str, int]] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    content: bytes = b""
    fault: str | None = None  # what the server did instead of answering ("429", "drop" ...)
    file_bytes: dict[str, bytes] = field(default_factory=dict, repr=False)
    uploads: list[tuple[str, str, int]] = field(default_factory=list)  # every file part: (field, name, size)
    status: int | None = None  # the answer's status, when the server answered with JSON
    answer: Any = field(default=None, repr=False)  # that JSON (tests check it against OpenAI's schema)

    @property
    def api_path(self) -> str:
        """The path without the /v1 prefix ("/chat/completions")."""
        return self.path[len(API_PREFIX):] if self.path.startswith(API_PREFIX + "/") else self.path

    def __repr__(self) -> str:  # the Authorization header never prints
        return (f"RecordedRequest({self.method} {self.path}, json={self.json!r}, form={self.form!r}, "
                f"files={self.files!r}, query={self.query!r}, fault={self.fault!r})")


@dataclass
class _StreamFault:
    mode: str  # "truncate", "malformed", "drop" or "stall"
    after: int
    count: int
    pause_ms: float
    path: str | None


STREAM_FAULTS = ("truncate", "malformed", "drop", "stall")


@dataclass
class _QueuedFault:
    status: int
    count: int
    retry_after: float | None
    retry_after_ms: int | None
    path: str | None
    message: str | None
