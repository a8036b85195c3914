"""n8n's pinData becomes pinned outputs in the run history (where the editor's pins live), keyed
by the new flow's id and node ids, so `studio run --use-pinned` and the editor reuse them."""

from __future__ import annotations

from .convert import ImportResult


def save_pins(result: ImportResult, history=None) -> str | None:
    """Store the import's pins; returns a message when the history cannot be written."""
    if not result.pins:
        return None
    from studio.history import RunHistory

    try:
        store = history or RunHistory()
        for node_id, output in result.pins.items():
            store.pin_output(result.flow.id, node_id, output)
    except Exception as exc:  # a locked or read-only history must not lose the written flow
        return f"pinned outputs were not saved ({exc})"
    return None
