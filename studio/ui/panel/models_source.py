"""Model ids per connection for the Model field: fetched once through the connection's List
Models, cached, and delivered by signal so the panel never blocks on the network."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, Awaitable, Callable

from qtpy.QtCore import QObject, Signal

log = logging.getLogger(__name__)

ModelFetcher = Callable[[str], Awaitable[list[str]]]


async def fetch_model_ids(connection: str) -> list[str]:
    """List Models through the credential store's settings for `connection` ("" = default)."""
    from studio.connectors.openai.client import ClientPool  # type: ignore[import-not-found]
    from studio.credentials import resolve  # type: ignore[attr-defined]

    settings = resolve(connection or None)
    pool = ClientPool()
    try:
        client = await pool.get(settings)
        page = await client.sdk.models.list()
        return sorted({str(m.id) for m in page.data})
    finally:
        await pool.aclose()


class ModelSource(QObject):
    """Shared by every Model field of a panel. `request` returns at once; results arrive on
    `models_ready(connection, ids)` or `failed(connection, message)`."""

    models_ready = Signal(str, list)
    failed = Signal(str, str)

    def __init__(self, parent: QObject | None = None, fetcher: ModelFetcher | None = None) -> None:
        super().__init__(parent)
        self._fetcher = fetcher or fetch_model_ids
        self._cache: dict[str, list[str]] = {}
        self._in_flight: set[str] = set()

    def cached(self, connection: str) -> list[str] | None:
        return self._cache.get(connection)

    def forget(self, connection: str | None = None) -> None:
        """Drop cached lists (after a connection was edited)."""
        if connection is None:
            self._cache.clear()
        else:
            self._cache.pop(connection, None)

    def request(self, connection: str, force: bool = False) -> None:
        if not force and connection in self._cache:
            self.models_ready.emit(connection, list(self._cache[connection]))
            return
        if connection in self._in_flight:
            return
        self._in_flight.add(connection)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:  # the app runs on qasync: stay on its loop
            loop.create_task(self._run(connection))
        else:  # no loop (tests, plain Qt): a short-lived thread with its own loop
            threading.Thread(target=lambda: asyncio.run(self._run(connection)), daemon=True,
                             name=f"list-models-{connection}").start()

    async def _run(self, connection: str) -> None:
        try:
            ids = [str(i) for i in await self._fetcher(connection)]
        except Exception as exc:  # noqa: BLE001 - shown to the user next to the field
            self._in_flight.discard(connection)
            log.info("listing models for connection %r failed: %s", connection, exc)
            self._emit(self.failed, connection, str(exc) or type(exc).__name__)
            return
        self._cache[connection] = ids
        self._in_flight.discard(connection)
        self._emit(self.models_ready, connection, ids)

    @staticmethod
    def _emit(signal: Any, *args: Any) -> None:
        """Deliver a result unless the panel that asked was closed meanwhile."""
        try:
            signal.emit(*args)
        except RuntimeError:  # "Signal source has been deleted": nobody is waiting any more
            log.debug("model list for %r arrived after its panel was closed", args[0])

    def wait_idle(self) -> bool:  # for tests and shutdown
        return not self._in_flight


# --- which models a node can use -----------------------------------------------------------------

# What kind of model each action's Model field takes; actions not named here take chat models,
# and None (Get Model by ID) lists every model of the connection.
ACTION_MODEL_KINDS: dict[str, str | None] = {
    "image.generate": "image",
    "agent.create_image_generation_tool": "image",
    "audio.speech": "speech",
    "audio.transcribe": "transcription",
    "audio.translate": "translation",
    "model.get": None,
}
# Shown in an empty Model field: a current model of that kind.
MODEL_PLACEHOLDERS: dict[str | None, str] = {
    "chat": "gpt-4.1-mini",
    "image": "gpt-image-1",
    "speech": "gpt-4o-mini-tts",
    "transcription": "gpt-4o-transcribe",
    "translation": "whisper-1",
    "embedding": "text-embedding-3-small",
    "moderation": "omni-moderation-latest",
    None: "Model id",
}
_KIND_MARKERS: dict[str, tuple[str, ...]] = {
    "image": ("dall-e", "gpt-image", "image"),
    "speech": ("tts",),
    "transcription": ("whisper", "transcribe"),
    "translation": ("whisper",),
    "embedding": ("embedding",),
    "moderation": ("moderation",),
}
# Families that are never chat models (besides the kinds above).
_NOT_CHAT = ("davinci", "babbage", "sora", "realtime", "search-api", "codex-mini-latest")


def model_kind(action_id: str | None) -> str | None:
    if action_id is None:
        return "chat"
    if action_id in ACTION_MODEL_KINDS:
        return ACTION_MODEL_KINDS[action_id]
    if "embedding" in action_id:
        return "embedding"
    if action_id.startswith("moderation."):
        return "moderation"
    return "chat"


def models_of_kind(ids: list[str], kind: str | None) -> list[str]:
    """The ids of `kind`, sorted. Chat is everything that is none of the other kinds. When the
    server names its models in a way none of this recognises (a local server), every id is kept
    rather than an empty list."""
    ids = sorted({str(i) for i in ids})
    if kind is None:
        return ids
    if kind == "chat":
        others = tuple(m for markers in _KIND_MARKERS.values() for m in markers) + _NOT_CHAT
        found = [i for i in ids if not any(m in i.lower() for m in others)]
    else:
        found = [i for i in ids if any(m in i.lower() for m in _KIND_MARKERS.get(kind, ()))]
    return found or ids
