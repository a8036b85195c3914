"""Handlers of the core nodes (studio/catalog/data/core.py): branching, reshaping data, merging,
loops, waits and errors. Importing this package registers them."""

from . import data, merge, routing, steps  # noqa: F401
from ._common import ACTION_HANDLERS

__all__ = ["ACTION_HANDLERS"]
