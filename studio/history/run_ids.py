"""Run ids: 32 hex digits, as a random UUID's, but ordered by time (the layout of a version 7
UUID: the millisecond first, then 74 random bits). The history's keys (runs, and each run's node
rows) are run ids: ids that grow with time are added at one end of its indexes, so a commit
writes a few pages, not one page per run scattered over a history of thousands."""

from __future__ import annotations

import os
import time


def new_run_id() -> str:
    """A new run id (unique: 74 random bits within each millisecond)."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand >> 68 & 0xFFF) << 64 | 0b10 << 62 | rand & ((1 << 62) - 1)
    return f"{value:032x}"
