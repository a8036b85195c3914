"""Which coroutine runs each action id.

The engine never imports connectors at import time (layering): `default_registry()` imports the
handler modules the first time a run needs them, and those modules register themselves. The agent
handlers import the OpenAI Agents SDK and MCP (seconds: most of `studio run`'s start), so
their module is imported only when a handler of theirs is first asked for (`LAZY_HANDLER_MODULES`):
a flow without agent nodes never loads them."""

from __future__ import annotations

import importlib
import threading
from typing import Any, Awaitable, Callable, Iterable, Iterator

from .context import NodeContext

Handler = Callable[[NodeContext], Awaitable[Any]]

# Modules whose import registers handlers in the default registry. A module that does not exist
# (yet) is skipped; one that exists but fails to import raises, so bugs are never hidden.
HANDLER_MODULES = (
    "studio.engine.builtin",
    "studio.engine.unsupported",
    "studio.connectors.openai.actions",
    "studio.connectors.core",
    "studio.connectors.http",
)
# Action id prefix -> the module whose import registers every handler of that prefix, imported the
# first time one of them is looked up (or the registry is listed).
LAZY_HANDLER_MODULES = {
    "agent.": "studio.connectors.openai.agents",
}


def runs_inline(fn: Handler) -> Handler:
    """Mark a handler that never waits (its `await`s, if any, never suspend): a trigger handing
    on its payload, a Set or If node. The executor then runs its node within the turn that made
    it ready, without a task and a loop turn of its own (engine/node_execution.py). A marked
    handler that does suspend fails its node with an error that says so."""
    fn.runs_inline = True  # type: ignore[attr-defined]
    return fn


class HandlerRegistry:
    """Action id -> handler. Registering an id again replaces its handler (module reloads)."""

    def __init__(self, handlers: dict[str, Handler] | None = None, lazy: dict[str, str] | None = None) -> None:
        self._handlers: dict[str, Handler] = dict(handlers or {})
        self._lazy: dict[str, str] = dict(lazy or {})  # action id prefix -> module not imported yet

    def _load(self, action_id: str | None = None) -> None:
        """Import the lazy modules for `action_id` (None: all of them) and take in what they
        registered in the default registry."""
        with _lock:
            for prefix, module in list(self._lazy.items()):
                if action_id is not None and not action_id.startswith(prefix):
                    continue
                _import_optional(module)
                for known, fn in list(_default._handlers.items()):
                    if known.startswith(prefix) and known not in self._handlers:
                        self._handlers[known] = fn
                del self._lazy[prefix]

    def load_for(self, action_ids: Iterable[str]) -> None:
        """Import now the lazy modules the handlers of `action_ids` are in: a process about to
        run them loads them while it sets up, not in its first run."""
        for action_id in action_ids:
            if not self._lazy:
                return
            if action_id not in self._handlers:
                self._load(action_id)

    def register(self, action_id: str, handler: Handler | None = None) -> Any:
        """`@registry.register("chat.create_completion")` or `registry.register(id, fn)`."""
        if handler is not None:
            self._handlers[action_id] = handler
            return handler

        def decorate(fn: Handler) -> Handler:
            self._handlers[action_id] = fn
            return fn

        return decorate

    def get(self, action_id: str) -> Handler:
        if self._lazy and action_id not in self._handlers:
            self._load(action_id)
        try:
            return self._handlers[action_id]
        except KeyError:
            raise KeyError(f"no handler for action {action_id!r}") from None

    def __contains__(self, action_id: object) -> bool:
        if self._lazy and isinstance(action_id, str) and action_id not in self._handlers:
            self._load(action_id)
        return action_id in self._handlers

    def __iter__(self) -> Iterator[str]:
        if self._lazy:
            self._load()
        return iter(sorted(self._handlers))

    def __len__(self) -> int:
        if self._lazy:
            self._load()
        return len(self._handlers)

    def copy(self) -> "HandlerRegistry":
        """A registry with the same handlers, for tests that add or override a few."""
        return HandlerRegistry(self._handlers, self._lazy)


_default = HandlerRegistry()
_loaded = False
_lock = threading.RLock()  # `_load` imports modules that call `register` while it holds the lock


def register(action_id: str, handler: Handler | None = None) -> Any:
    """Register into the default registry (what handler modules call at import time)."""
    return _default.register(action_id, handler)


def default_registry() -> HandlerRegistry:
    """The process-wide registry, with every available handler module imported."""
    global _loaded
    if not _loaded:
        with _lock:
            if not _loaded:
                for module in HANDLER_MODULES:
                    _import_optional(module)
                _default._lazy.update({prefix: module for prefix, module in LAZY_HANDLER_MODULES.items()
                                       if not any(known.startswith(prefix) for known in _default._handlers)})
                _loaded = True
    return _default


def _import_optional(module: str) -> None:
    try:
        imported = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        # Only "this module is not there"; a missing dependency *inside* it is a real error.
        if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
            return
        raise
    # Handler packages that keep their own table (ACTION_HANDLERS) are copied in as well, so a
    # package that registered before the engine's registry existed is still found.
    table = getattr(imported, "ACTION_HANDLERS", None)
    if isinstance(table, dict):
        for action_id, fn in table.items():
            if action_id not in _default:
                _default.register(action_id, fn)
